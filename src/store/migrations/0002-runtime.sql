-- The runtime: hosts that run spaces (their agents), where each space runs, its outbound
-- address, per-app Unix uids for dynos, the dynos agents report, and restart requests.

CREATE TABLE hosts (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	regions TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	seen_at TEXT
);

ALTER TABLE spaces ADD COLUMN host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL;
ALTER TABLE spaces ADD COLUMN outbound_ip TEXT;

ALTER TABLE apps ADD COLUMN uid INTEGER;
UPDATE apps SET uid = 100000 + rowid WHERE uid IS NULL;
ALTER TABLE apps ADD COLUMN restart_seq INTEGER NOT NULL DEFAULT 0;

-- What the agents last reported; replaced wholesale per host at each report.
CREATE TABLE dynos (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	release_version INTEGER NOT NULL,
	state TEXT NOT NULL,
	command TEXT NOT NULL,
	size TEXT NOT NULL,
	private_ip TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (app_id, name)
);

-- Restart requests: a target ("*", a process type or a dyno name) and a counter the agent
-- compares with the one it last acted on.
CREATE TABLE dyno_restarts (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	target TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (app_id, target)
);
