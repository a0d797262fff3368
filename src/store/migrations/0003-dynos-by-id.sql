-- Dynos are known by id: during a rolling deploy the old web.1 and its successor run side by
-- side under one name. The table holds only what agents report, so it starts empty again and
-- the agents fill it at their next report.

DROP TABLE dynos;

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
	updated_at TEXT NOT NULL
);
CREATE INDEX dynos_app ON dynos(app_id, name);
CREATE INDEX dynos_host ON dynos(host_id);
