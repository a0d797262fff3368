-- PostgreSQL backups (docs/addons.md, "Backups"): captures (b001, b002... per app) and
-- restores (r001...), each a pg_dump or pg_restore that coved runs into the add-on's space.
-- The dump of a capture is <data-dir>/backups/<addon id>/<name>.dump.
CREATE TABLE pg_backups (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('capture', 'restore')),
	num INTEGER NOT NULL,
	addon_id TEXT NOT NULL,
	addon_name TEXT NOT NULL,
	backup_id TEXT,              -- a restore: the capture it restored
	status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
	size INTEGER NOT NULL DEFAULT 0,
	error TEXT,
	user_email TEXT NOT NULL,
	created_at TEXT NOT NULL,
	finished_at TEXT,
	UNIQUE (app_id, kind, num)
);

-- A daily capture of an add-on at an hour (UTC), run by coved's scheduler; last_day is the
-- UTC date (YYYY-MM-DD) of the day already served.
CREATE TABLE pg_backup_schedules (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	addon_id TEXT NOT NULL UNIQUE REFERENCES addons(id) ON DELETE CASCADE,
	addon_name TEXT NOT NULL,
	hour INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
	last_day TEXT,
	created_at TEXT NOT NULL
);
