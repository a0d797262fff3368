-- The control plane's first schema: accounts, teams, spaces, apps, config, slugs,
-- releases, formation and the audit trail. Times are ISO 8601 UTC text; ids are UUIDs.

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT,
	password_hash TEXT,
	is_admin INTEGER NOT NULL DEFAULT 0,
	default_team_id TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

CREATE TABLE tokens (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE teams (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

CREATE TABLE team_members (
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE spaces (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	team_id TEXT NOT NULL REFERENCES teams(id),
	region TEXT NOT NULL,
	cidr TEXT NOT NULL,
	data_cidr TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('allocating', 'allocated', 'deleting')),
	shield INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX spaces_team ON spaces(team_id);

CREATE TABLE apps (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	space_id TEXT NOT NULL REFERENCES spaces(id),
	team_id TEXT NOT NULL REFERENCES teams(id),
	owner_id TEXT NOT NULL REFERENCES users(id),
	internal_routing INTEGER NOT NULL DEFAULT 0,
	maintenance INTEGER NOT NULL DEFAULT 0,
	stack TEXT NOT NULL DEFAULT 'heroku-24',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX apps_space ON apps(space_id);
CREATE INDEX apps_team ON apps(team_id);

CREATE TABLE config_vars (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (app_id, key)
);

CREATE TABLE slugs (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	process_types TEXT NOT NULL DEFAULT '{}',
	commit_sha TEXT,
	commit_description TEXT,
	checksum TEXT,
	size INTEGER,
	stack TEXT NOT NULL DEFAULT 'heroku-24',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX slugs_app ON slugs(app_id);

CREATE TABLE releases (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	description TEXT NOT NULL,
	user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
	user_email TEXT NOT NULL,
	slug_id TEXT REFERENCES slugs(id),
	config TEXT NOT NULL DEFAULT '{}',
	status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (app_id, version)
);

CREATE TABLE formations (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	type TEXT NOT NULL,
	quantity INTEGER NOT NULL CHECK (quantity >= 0),
	size TEXT NOT NULL,
	command TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (app_id, type)
);

CREATE TABLE audit_events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	actor_id TEXT,
	actor_email TEXT NOT NULL,
	action TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	request_id TEXT NOT NULL DEFAULT ''
);
