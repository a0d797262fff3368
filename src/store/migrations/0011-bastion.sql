-- The bastion (docs/bastion.md): the permission to open tunnels into a space, and every
-- tunnel session from its request to its end. Sessions keep the names of the app, the space
-- and the user, and outlive them, as the audit trail does.

-- Bastion access is a space permission like create_apps (api-space-access.c): the table is
-- made again with the wider check, as SQLite cannot change a check in place.
CREATE TABLE space_permissions_next (
	space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	permission TEXT NOT NULL CHECK (permission IN ('create_apps', 'bastion')),
	created_at TEXT NOT NULL,
	PRIMARY KEY (space_id, user_id, permission)
);
INSERT INTO space_permissions_next (space_id, user_id, permission, created_at)
	SELECT space_id, user_id, permission, created_at FROM space_permissions;
DROP TABLE space_permissions;
ALTER TABLE space_permissions_next RENAME TO space_permissions;

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
