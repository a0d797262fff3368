/* SPDX-License-Identifier: MIT */
#include "net/net-nft.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "net/net-plan.h"

/* Replaces the table in one transaction: the empty declaration makes the delete safe. */
static void render_table_start(struct strbuf *out, const char *what)
{
	strbuf_addf(out,
		    "# cove: the %s table, rendered by src/net/net-nft.c and replaced as a whole\n"
		    "table inet cove {}\n"
		    "delete table inet cove\n"
		    "table inet cove {\n",
		    what);
}

static int cmp_snat(const void *a, const void *b)
{
	const struct net_nft_snat *x = a, *y = b;
	return x->uplink_addr < y->uplink_addr ? -1 : x->uplink_addr > y->uplink_addr;
}

void net_nft_render_host(const struct net_nft_snat *snat, size_t n, struct strbuf *out)
{
	_cleanup_free_ struct net_nft_snat *sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	if (n)
		memcpy(sorted, snat, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_snat);

	render_table_start(out, "host");
	strbuf_addstr(out, "\tset outbound_ips {\n"
			   "\t\ttype ipv4_addr\n");
	for (size_t i = 0; i < n; i++) {
		char ip[NET_IPV4_STRING_MAX];
		net_ipv4_format(sorted[i].outbound_ip, ip);
		strbuf_addf(out, "%s%s", i == 0 ? "\t\telements = { " : ", ", ip);
	}
	strbuf_addf(out, "%s\t}\n\n", n ? " }\n" : "");

	strbuf_addstr(out,
		      "\tchain input {\n"
		      "\t\ttype filter hook input priority filter; policy accept;\n"
		      "\t\tiifname \"cu-*\" ct state established,related accept\n"
		      "\t\tiifname \"cu-*\" drop\n"
		      "\t\tiifname != \"lo\" ip daddr @outbound_ips ct state new drop\n"
		      "\t}\n\n"
		      "\tchain forward {\n"
		      "\t\ttype filter hook forward priority filter; policy accept;\n"
		      "\t\tiifname \"cu-*\" oifname \"cu-*\" drop\n"
		      "\t\tiifname \"cu-*\" ip daddr 169.254.0.0/16 drop\n"
		      "\t\tiifname \"cu-*\" accept\n"
		      "\t\toifname \"cu-*\" ct state established,related accept\n"
		      "\t\toifname \"cu-*\" drop\n"
		      "\t}\n\n"
		      "\tchain postrouting {\n"
		      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t i = 0; i < n; i++) {
		char uplink[NET_IPV4_STRING_MAX], ip[NET_IPV4_STRING_MAX];
		net_ipv4_format(sorted[i].uplink_addr, uplink);
		net_ipv4_format(sorted[i].outbound_ip, ip);
		strbuf_addf(out, "\t\tip saddr %s oifname != \"cu-*\" snat ip to %s\n", uplink, ip);
	}
	strbuf_addstr(out, "\t}\n}\n");
}

static int render_rule(const struct net_nft_rule *rule, struct strbuf *out, struct error *err)
{
	static const char *const proto[] = { [NET_NFT_TCP] = "tcp", [NET_NFT_UDP] = "udp", [NET_NFT_ICMP] = "icmp" };
	char net[NET_IPV4_STRING_MAX];
	net_ipv4_format(rule->daddr.addr, net);
	if (rule->daddr.prefix > 32 || (rule->daddr.addr & ~net_prefix_mask(rule->daddr.prefix)))
		return error_set(err, -EINVAL, "filter rule for '%s/%u' is invalid: not a network address", net,
				 rule->daddr.prefix);
	bool any_port = rule->port_min == 0 && rule->port_max == 0;
	if (rule->proto != NET_NFT_ANY && rule->proto != NET_NFT_TCP && rule->proto != NET_NFT_UDP &&
	    rule->proto != NET_NFT_ICMP)
		return error_set(err, -EINVAL, "filter rule for '%s/%u' is invalid: unknown protocol", net,
				 rule->daddr.prefix);
	if (!any_port && (rule->proto == NET_NFT_ANY || rule->proto == NET_NFT_ICMP || rule->port_min == 0 ||
			  rule->port_min > rule->port_max))
		return error_set(err, -EINVAL, "filter rule for '%s/%u' is invalid: bad port range %u-%u", net,
				 rule->daddr.prefix, rule->port_min, rule->port_max);

	strbuf_addf(out, "\t\tip daddr %s/%u", net, rule->daddr.prefix);
	if (rule->proto != NET_NFT_ANY && any_port)
		strbuf_addf(out, " meta l4proto %s", proto[rule->proto]);
	else if (!any_port && rule->port_min == rule->port_max)
		strbuf_addf(out, " %s dport %u", proto[rule->proto], rule->port_min);
	else if (!any_port)
		strbuf_addf(out, " %s dport %u-%u", proto[rule->proto], rule->port_min, rule->port_max);
	strbuf_addf(out, " %s\n", rule->accept ? "accept" : "drop");
	return 0;
}

static int render_chain(const char *name, const char *comment, const struct net_nft_rule *rules, size_t n,
			struct strbuf *out, struct error *err)
{
	strbuf_addf(out, "\t# %s\n\tchain %s {\n", comment, name);
	for (size_t i = 0; i < n; i++) {
		int r = render_rule(&rules[i], out, err);
		if (r < 0)
			return r;
	}
	strbuf_addstr(out, "\t}\n\n");
	return 0;
}

int net_nft_render_space(const struct net_nft_space *space, struct strbuf *out, struct error *err)
{
	render_table_start(out, "space");
	int r = render_chain("services", "dyno -> this namespace (DNS resolver); the first match decides, the rest is dropped",
			     space->services, space->n_services, out, err);
	if (r < 0)
		return r;
	r = render_chain("egress_rules", "dyno -> outside (outbound rules); the first match decides, the rest is allowed",
			 space->egress, space->n_egress, out, err);
	if (r < 0)
		return r;
	strbuf_addstr(out,
		      "\tchain input {\n"
		      "\t\ttype filter hook input priority filter; policy drop;\n"
		      "\t\tiif \"lo\" accept\n"
		      "\t\tct state established,related accept\n"
		      "\t\tiifname \"br0\" jump services\n"
		      "\t}\n\n"
		      /* br_netfilter hands bridged dyno-to-dyno traffic to this hook too. */
		      "\tchain forward {\n"
		      "\t\ttype filter hook forward priority filter; policy drop;\n"
		      "\t\tiifname \"br0\" oifname \"br0\" accept\n"
		      "\t\tct state established,related accept\n"
		      "\t\tiifname \"br0\" oifname \"uplink\" jump egress_rules\n"
		      "\t\tiifname \"br0\" oifname \"uplink\" accept\n"
		      "\t}\n\n"
		      "\tchain postrouting {\n"
		      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		      "\t\toifname \"uplink\" masquerade\n"
		      "\t}\n"
		      "}\n");
	return 0;
}

void net_nft_ingress_table(const char *space_id, char ret[static NET_NFT_INGRESS_TABLE_MAX])
{
	size_t n = 0;
	for (const char *p = space_id; *p && n < 8; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			ret[8 + n++] = *p;
	memcpy(ret, "cove_in_", 8);
	ret[8 + n] = '\0';
}

void net_nft_render_ingress_delete(const char *table, struct strbuf *out)
{
	strbuf_addf(out, "table ip %s {}\ndelete table ip %s\n", table, table);
}

int net_nft_render_ingress(const char *table, const struct net_nft_ingress *in, struct strbuf *out,
			   struct error *err)
{
	char addr[NET_IPV4_STRING_MAX];
	net_ipv4_format(in->addr, addr);
	if (in->port == 0)
		return error_set(err, -EINVAL, "ingress '%s' is invalid: no port", addr);
	strbuf_addf(out, "# cove: the trusted IP ranges of a space's ingress, rendered by src/net/net-nft.c\n");
	net_nft_render_ingress_delete(table, out);
	strbuf_addf(out,
		    "table ip %s {\n"
		    "\t# client -> the space's router; the first match decides, the rest is dropped\n"
		    "\tchain trusted {\n",
		    table);
	for (size_t i = 0; i < in->n_trusted; i++) {
		const struct cidr4 *c = &in->trusted[i].saddr;
		char net[NET_IPV4_STRING_MAX];
		net_ipv4_format(c->addr, net);
		if (c->prefix > 32 || (c->addr & ~net_prefix_mask(c->prefix)))
			return error_set(err, -EINVAL, "trusted range '%s/%u' is invalid: not a network address", net,
					 c->prefix);
		strbuf_addf(out, "\t\tip saddr %s/%u %s\n", net, c->prefix, in->trusted[i].accept ? "return" : "drop");
	}
	strbuf_addf(out,
		    "\t\tdrop\n"
		    "\t}\n\n"
		    "\tchain input {\n"
		    "\t\ttype filter hook input priority filter; policy accept;\n"
		    "\t\tip daddr %s tcp dport %u jump trusted\n"
		    "\t}\n"
		    "}\n",
		    addr, in->port);
	return 0;
}

/* Finds nft on PATH, then in the sbin directories that a non-login root PATH may lack. */
static int find_nft(char ret[static PATH_MAX])
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *dirs = xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	char *save = NULL;
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(ret, PATH_MAX, "%s/nft", dir) < PATH_MAX && access(ret, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The part of nft's output worth a message: the first "Error:" line, else the first line. */
static void nft_complaint(const char *out, char *ret, size_t size)
{
	const char *line = strstr(out, "Error: ");
	line = line ? line + strlen("Error: ") : out;
	while (*line == '\n')
		line++;
	size_t len = strcspn(line, "\n");
	snprintf(ret, size, "%.*s", (int)len, *line ? line : "nft failed without a message");
}

static _noreturn_ void nft_child(int netns_fd, int in, int out, const char *nft)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
		static const char msg[] = "Error: cannot enter the network namespace\n";
		if (write(out, msg, sizeof(msg) - 1) < 0)
			_exit(126);
		_exit(126);
	}
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(126);
	char *const argv[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
	execv(nft, argv);
	static const char msg[] = "Error: cannot execute nft\n";
	if (write(out, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

int net_nft_apply(int netns_fd, const char *what, const char *ruleset, struct error *err)
{
	char nft[PATH_MAX];
	if (find_nft(nft) < 0)
		return error_set(err, -ENOENT, "apply nftables ruleset of '%s': nft is not installed", what);

	/* Memory files, not pipes: nft reads and writes as it pleases without a deadlock. */
	_cleanup_close_ int in = memfd_create("cove-nft-ruleset", MFD_CLOEXEC);
	_cleanup_close_ int out = memfd_create("cove-nft-output", MFD_CLOEXEC);
	if (in < 0 || out < 0) {
		int r = -errno;
		return error_set(err, r, "apply nftables ruleset of '%s': memfd: %s", what, strerror(-r));
	}
	size_t len = strlen(ruleset);
	if (write(in, ruleset, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) < 0) {
		int r = -errno;
		return error_set(err, r, "apply nftables ruleset of '%s': %s", what, strerror(-r));
	}

	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		return error_set(err, r, "apply nftables ruleset of '%s': fork: %s", what, strerror(-r));
	}
	if (pid == 0)
		nft_child(netns_fd, in, out, nft);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			return error_set(err, r, "apply nftables ruleset of '%s': wait: %s", what, strerror(-r));
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;

	char output[4096], complaint[256];
	ssize_t n = pread(out, output, sizeof(output) - 1, 0);
	output[n > 0 ? n : 0] = '\0';
	nft_complaint(output, complaint, sizeof(complaint));
	return error_set(err, -EIO, "apply nftables ruleset of '%s': %s", what, complaint);
}
