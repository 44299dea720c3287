-- Quiet hours, holidays and scheduled sends (SPEC 5.5, 4.1 sendAt, 4.3 scheduledFor).

-- When the message's attempt was last held until (ms since the epoch); a message held by
-- `delay` before this column existed is given the time its delay named.
ALTER TABLE messages ADD COLUMN scheduled_for INTEGER;
UPDATE messages SET scheduled_for = created_at + 1000 * json_extract(options, '$.delaySeconds')
 WHERE json_extract(options, '$.delaySeconds') > 0;

-- The customer's own IANA zone, when the dealer knows it: the recipient's clock.
ALTER TABLE customers ADD COLUMN time_zone TEXT;
