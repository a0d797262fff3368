-- Add-ons: data services (PostgreSQL, Redis) that run inside an app's space, and their
-- attachments, which put an add-on's URL into an app's config as <NAME>_URL.

CREATE TABLE addons (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE, -- the billing app
	space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
	plan_id TEXT NOT NULL,
	state TEXT NOT NULL,           -- provisioning, provisioned
	private_ip TEXT NOT NULL,      -- from the space's data CIDR
	port INTEGER NOT NULL,
	username TEXT NOT NULL,
	password TEXT NOT NULL,
	database TEXT NOT NULL,        -- PostgreSQL's database name; '' for Redis
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (space_id, private_ip)
);

CREATE TABLE addon_attachments (
	id TEXT PRIMARY KEY,
	addon_id TEXT NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	name TEXT NOT NULL,            -- DATABASE: the config var DATABASE_URL
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (app_id, name)
);
CREATE INDEX addon_attachments_addon ON addon_attachments (addon_id);
