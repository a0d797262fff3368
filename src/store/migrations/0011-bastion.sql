-- The bastion (docs/bastion.md): who may open tunnels into a space besides the admins of its
-- team, and every tunnel session from its request to its end. Sessions keep the names of the
-- app, the space and the user, and outlive them, as the audit trail does.

CREATE TABLE bastion_grants (
	space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	granted_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (space_id, user_id)
);

CREATE TABLE bastion_sessions (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL,
	app_name TEXT NOT NULL,
	space_id TEXT NOT NULL,
	space_name TEXT NOT NULL,
	user_id TEXT,
	user_email TEXT NOT NULL,
	target TEXT NOT NULL,
	address TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('pending', 'closed', 'failed', 'expired')),
	error TEXT,
	bytes_in INTEGER NOT NULL DEFAULT 0,
	bytes_out INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	started_at TEXT,
	ended_at TEXT
);
CREATE INDEX bastion_sessions_app ON bastion_sessions(app_id, created_at);
