-- One-off dynos (`cove run`, `heroku run`, `run:detached`, the release phase): what was asked
-- to run once, until the agent that ran it reports it ended (docs/runtime.md).

CREATE TABLE runs (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	name TEXT NOT NULL,             -- run.4821, release.7
	type TEXT NOT NULL,             -- run, or the process type asked for; release
	command TEXT NOT NULL,
	size TEXT NOT NULL,
	env TEXT NOT NULL DEFAULT '{}', -- set over the release's config vars
	release_version INTEGER NOT NULL, -- whose slug and config vars it runs with
	attach INTEGER NOT NULL,        -- its stdin and stdout are a rendezvous session
	tty INTEGER NOT NULL,
	secret_hash TEXT,               -- of the rendezvous secret, when attach
	time_to_live INTEGER NOT NULL,  -- seconds it may run
	stop INTEGER NOT NULL DEFAULT 0, -- ps:stop asked for it
	user_email TEXT,                -- who asked, for the log events
	created_at TEXT NOT NULL,
	UNIQUE (app_id, name)
);

-- Where a host's agent accepts rendezvous sessions ("127.0.0.1:5002"), as it reports it.
ALTER TABLE hosts ADD COLUMN rendezvous TEXT;
