-- Where a space's router answers, as the agent that runs the space reports it
-- ("127.0.2.6:80"; docs/router.md).

ALTER TABLE spaces ADD COLUMN ingress TEXT;
