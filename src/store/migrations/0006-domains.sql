-- The custom domains of apps, which their space's router answers to besides the app's own
-- <app>.<space>.<apps domain> (not stored: it follows the names). A host name belongs to one
-- app of the installation, as on Heroku.

CREATE TABLE domains (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	hostname TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX domains_app ON domains(app_id);
