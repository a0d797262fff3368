-- The network settings of a space (docs/network.md): its trusted IP ranges (inbound) and its
-- outbound rules, each the whole current ruleset as the Platform API shows it, a JSON list of
-- rules; a PUT replaces the row with a new id. And the space-app-access permissions of team
-- members (create_apps), which team admins grant per space.

CREATE TABLE space_rulesets (
	space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
	direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	id TEXT NOT NULL UNIQUE,
	rules TEXT NOT NULL,
	created_at TEXT NOT NULL,
	created_by TEXT,
	PRIMARY KEY (space_id, direction)
);

-- Spaces made before this migration get the defaults: every source trusted, every
-- destination allowed. The ids are random UUIDs (version 4).
INSERT INTO space_rulesets (space_id, direction, id, rules, created_at, created_by)
SELECT s.id, d.direction,
	lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
	      substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
	d.rules, s.created_at, NULL
FROM spaces s CROSS JOIN (
	SELECT 'inbound' AS direction, '[{"action":"allow","source":"0.0.0.0/0"}]' AS rules
	UNION ALL
	SELECT 'outbound', '[{"target":"0.0.0.0/0","from_port":0,"to_port":65535,"protocol":"any"}]'
) d;

CREATE TABLE space_permissions (
	space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	permission TEXT NOT NULL CHECK (permission IN ('create_apps')),
	created_at TEXT NOT NULL,
	PRIMARY KEY (space_id, user_id, permission)
);
