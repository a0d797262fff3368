-- Deploys: builds (of a git push), their buildpacks, and the buildpacks an app asks for.
-- A build's output lives in DATA_DIR/builds/<id>.log; its slug and release are the usual ones.

CREATE TABLE builds (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	source_version TEXT,
	source_description TEXT,
	buildpacks TEXT NOT NULL DEFAULT '[]',
	stack TEXT NOT NULL,
	slug_id TEXT REFERENCES slugs(id) ON DELETE SET NULL,
	release_id TEXT REFERENCES releases(id) ON DELETE SET NULL,
	user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
	user_email TEXT NOT NULL,
	push_id TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX builds_app ON builds(app_id);
CREATE INDEX builds_push ON builds(push_id);

CREATE TABLE buildpack_installations (
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	ordinal INTEGER NOT NULL,
	url TEXT NOT NULL,
	PRIMARY KEY (app_id, ordinal)
);
