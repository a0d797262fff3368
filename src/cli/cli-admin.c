/* SPDX-License-Identifier: MIT */
/* The audit trail (platform administrators): every request that tried to change something. */
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli.h"

#define AUDIT_DEFAULT 30
#define AUDIT_MAX 1000

static int audit_run(struct cli *c, struct error *err)
{
	long n = AUDIT_DEFAULT;
	const char *s = cli_opt(c, OPT_NUM);
	if (s) {
		char *end;
		n = strtol(s, &end, 10);
		if (!*s || *end || n < 1 || n > AUDIT_MAX)
			return cli_usage_error(err, "-n '%s' is invalid: use a number from 1 to %d", s, AUDIT_MAX);
	}
	_cleanup_free_ char *range = xasprintf("seq ..; max=%ld, order=desc", n);
	_cleanup_json_ json_t *events = NULL;
	int r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = "/audit-events", .range = range },
			     &events, err);
	if (r < 0)
		return r;
	if (cli_has(c, OPT_JSON)) {
		cli_print_json(events);
		return 0;
	}
	_cleanup_table_ struct cli_table *t =
		cli_table_new(4, (const char *const[]){ "Time", "Actor", "Status", "Action" });
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		_cleanup_free_ char *status = xasprintf("%lld", cli_json_int(e, "status", 0));
		const char *actor = cli_json_str(e, "actor.email");
		cli_table_add(t, cli_json_str(e, "created_at"), isempty(actor) ? "-" : actor, status,
			      cli_json_str(e, "action"));
	}
	cli_table_print(t);
	return 0;
}

const struct cli_command cli_audit_commands[] = {
	{ "audit", audit_run, CLI_FLAG(OPT_NUM) | CLI_FLAG(OPT_JSON), 0, 0, "[-n N] [--json]",
	  "show the newest entries of the audit trail (platform administrators; 30 unless -n)", "cove audit -n 100" },
	{},
};
