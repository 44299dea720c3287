-- Which dealer texts from each sender number. Opt state is kept per dealer, so a number two
-- dealers text from would let a customer's STOP reach one of them only: a number belongs to
-- one dealer (the primary key), and any number of that dealer's departments may share it.
-- Kept by the store in the same transaction as the department's textSenderNumber.
CREATE TABLE sender_numbers (
    number       TEXT PRIMARY KEY,  -- E.164
    dealer_uuid  TEXT NOT NULL REFERENCES dealers(uuid)
);

-- Numbers already in use belong to the dealer of the oldest department texting from each.
-- A database from before this rule may hold a number used by several dealers: nothing is
-- changed or refused here; those departments keep their number (an update that leaves it as
-- it is stays allowed), but no department can take such a number anew unless it is of the
-- owning dealer, and inbound STOP/START to it apply to every dealer texting from it.
INSERT INTO sender_numbers (number, dealer_uuid)
SELECT d.text_sender_number, d.dealer_uuid
FROM departments d
WHERE d.text_sender_number IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM departments o
      WHERE o.text_sender_number = d.text_sender_number
        AND (o.created_at < d.created_at OR (o.created_at = d.created_at AND o.uuid < d.uuid))
  );
