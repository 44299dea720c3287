-- Quiet hours, holidays and scheduled sends (SPEC 5.5, 4.1 sendAt, 4.3 scheduledFor).

-- When the message's attempt was last held until; a message held by `delay` before this
-- column existed is given the time its delay named.
ALTER TABLE messages ADD COLUMN scheduled_for timestamptz;
UPDATE messages SET scheduled_for = created_at + make_interval(secs => (options ->> 'delaySeconds')::bigint)
 WHERE (options ->> 'delaySeconds')::bigint > 0;

-- The customer's own IANA zone, when the dealer knows it: the recipient's clock.
ALTER TABLE customers ADD COLUMN time_zone text;
