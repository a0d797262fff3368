/* SPDX-License-Identifier: MIT */
#include "net/net-plan.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

uint32_t net_prefix_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? ~0u : ~0u << (32 - prefix);
}

bool net_ipv4_in(uint32_t addr, uint32_t net, unsigned prefix)
{
	uint32_t mask = net_prefix_mask(prefix);
	return (addr & mask) == (net & mask);
}

int net_ipv4_parse(const char *s, uint32_t *ret, struct error *err)
{
	struct in_addr in;
	if (!s || inet_pton(AF_INET, s, &in) != 1)
		return error_set(err, -EINVAL, "address '%.64s' is invalid: expected a.b.c.d", s ? s : "");
	*ret = ntohl(in.s_addr);
	return 0;
}

int net_addr4_parse(const char *s, struct net_addr4 *ret, struct error *err)
{
	char addr[NET_IPV4_STRING_MAX];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return error_set(err, -EINVAL, "address '%.64s' is invalid: expected a.b.c.d/n", s ? s : "");
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';

	struct in_addr in;
	if (inet_pton(AF_INET, addr, &in) != 1)
		return error_set(err, -EINVAL, "address '%.64s' is invalid: expected a.b.c.d/n", s);
	const char *p = slash + 1;
	if (!isdigit((unsigned char)p[0]) || strlen(p) > 2 || (p[1] && !isdigit((unsigned char)p[1])) ||
	    atoi(p) > 32)
		return error_set(err, -EINVAL, "address '%.64s' is invalid: bad prefix length", s);
	ret->addr = ntohl(in.s_addr);
	ret->prefix = (unsigned)atoi(p);
	return 0;
}

void net_ipv4_format(uint32_t addr, char ret[static NET_IPV4_STRING_MAX])
{
	snprintf(ret, NET_IPV4_STRING_MAX, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
		 addr & 0xff);
}

void net_addr4_format(const struct net_addr4 *a, char ret[static NET_ADDR4_STRING_MAX])
{
	char ip[NET_IPV4_STRING_MAX];
	net_ipv4_format(a->addr, ip);
	snprintf(ret, NET_ADDR4_STRING_MAX, "%s/%u", ip, a->prefix);
}

int net_uplink_plan(unsigned index, struct net_uplink *ret, struct error *err)
{
	if (index > NET_UPLINK_INDEX_MAX)
		return error_set(err, -EINVAL, "uplink index %u is out of range: at most %u", index,
				 NET_UPLINK_INDEX_MAX);
	uint32_t base = NET_UPLINK_POOL_ADDR + (index << (32 - NET_UPLINK_PREFIX));
	ret->host = base + 1;
	ret->space = base + 2;
	return 0;
}

/* Networks no space and no outbound IP may use: the namespace routes them elsewhere. */
static const struct cidr4 reserved[] = {
	{ 0x00000000u, 8 },                                   /* 0.0.0.0/8, "this network" */
	{ 0x7f000000u, 8 },                                   /* loopback */
	{ NET_UPLINK_POOL_ADDR, NET_UPLINK_POOL_PREFIX },     /* the uplink pool */
	{ 0xe0000000u, 3 },                                   /* multicast and reserved, 224.0.0.0 and up */
};

static const struct cidr4 *reserved_overlap(const struct cidr4 *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (cidr4_overlap(c, &reserved[i]))
			return &reserved[i];
	return NULL;
}

int net_space_gateway(const char *cidr, struct net_addr4 *ret, struct error *err)
{
	struct cidr4 c;
	int r = cidr4_parse(cidr, 8, 30, &c, err);
	if (r < 0)
		return r;
	const struct cidr4 *bad = reserved_overlap(&c);
	if (bad) {
		char net[NET_IPV4_STRING_MAX];
		net_ipv4_format(bad->addr, net);
		return error_set(err, -EINVAL, "CIDR '%s' is invalid: it overlaps %s/%u, which spaces cannot use",
				 cidr, net, bad->prefix);
	}
	ret->addr = c.addr + 1;
	ret->prefix = c.prefix;
	return 0;
}

int net_dyno_address_check(const struct net_addr4 *gateway, const struct net_addr4 *address, struct error *err)
{
	char a[NET_ADDR4_STRING_MAX], gw[NET_ADDR4_STRING_MAX];
	net_addr4_format(address, a);
	net_addr4_format(gateway, gw);
	uint32_t mask = net_prefix_mask(gateway->prefix);
	if (address->prefix != gateway->prefix || !net_ipv4_in(address->addr, gateway->addr, gateway->prefix))
		return error_set(err, -EINVAL, "address '%s' is not in the space network of gateway '%s'", a, gw);
	if ((address->addr & ~mask) == 0 || (address->addr & ~mask) == ~mask)
		return error_set(err, -EINVAL, "address '%s' is the network or broadcast address", a);
	if (address->addr == gateway->addr)
		return error_set(err, -EINVAL, "address '%s' is the space gateway", a);
	return 0;
}

int net_outbound_check(const struct cidr4 *net, struct error *err)
{
	if (reserved_overlap(net)) {
		char s[NET_IPV4_STRING_MAX];
		net_ipv4_format(net->addr, s);
		if (net->prefix == 32)
			return error_set(err, -EINVAL, "outbound IP '%s' is invalid: not a unicast address outside %s",
					 s, NET_UPLINK_POOL);
		return error_set(err, -EINVAL, "outbound pool '%s/%u' is invalid: it overlaps loopback, multicast or %s",
				 s, net->prefix, NET_UPLINK_POOL);
	}
	return 0;
}

void net_mac_for(uint32_t addr, uint8_t ret[static 6])
{
	ret[0] = 0x02;
	ret[1] = 0x63;
	ret[2] = (uint8_t)(addr >> 24);
	ret[3] = (uint8_t)(addr >> 16);
	ret[4] = (uint8_t)(addr >> 8);
	ret[5] = (uint8_t)addr;
}

int net_id_normalize(const char *what, const char *id, char ret[static ID_STRING_MAX], struct error *err)
{
	if (!id || !id_is_uuid(id))
		return error_set(err, -EINVAL, "%s id '%.64s' is invalid: expected a UUID", what, id ? id : "");
	for (size_t i = 0; i < ID_STRING_MAX; i++)
		ret[i] = (char)tolower((unsigned char)id[i]);
	return 0;
}

void net_link_name_for(const char *prefix, const char *id, char ret[static IFNAMSIZ])
{
	snprintf(ret, IFNAMSIZ, "%s%.8s", prefix, id);
}

void net_space_record_format(const struct net_space_record *rec, char ret[static NET_RECORD_MAX])
{
	char ip[NET_IPV4_STRING_MAX];
	net_ipv4_format(rec->outbound_ip, ip);
	snprintf(ret, NET_RECORD_MAX, "space=%s uplink=%u outbound=%s", rec->space_id, rec->uplink_index, ip);
}

/* Consumes `key` then a UUID from *p. */
static int parse_id_field(const char **p, const char *key, char ret[static ID_STRING_MAX])
{
	size_t n = strlen(key);
	if (strncmp(*p, key, n) != 0 || strnlen(*p + n, ID_STRING_MAX) < ID_STRING_MAX - 1)
		return -EINVAL;
	char id[ID_STRING_MAX];
	memcpy(id, *p + n, ID_STRING_MAX - 1);
	id[ID_STRING_MAX - 1] = '\0';
	if (net_id_normalize("", id, ret, NULL) < 0)
		return -EINVAL;
	*p += n + ID_STRING_MAX - 1;
	return 0;
}

int net_space_record_parse(const char *alias, struct net_space_record *ret)
{
	const char *p = alias;
	if (!p || parse_id_field(&p, "space=", ret->space_id) < 0)
		return -EINVAL;
	if (strncmp(p, " uplink=", 8) != 0 || !isdigit((unsigned char)p[8]))
		return -EINVAL;
	p += 8;
	unsigned long index = 0;
	while (isdigit((unsigned char)*p)) {
		index = index * 10 + (unsigned long)(*p++ - '0');
		if (index > NET_UPLINK_INDEX_MAX)
			return -EINVAL;
	}
	if (strncmp(p, " outbound=", 10) != 0 || net_ipv4_parse(p + 10, &ret->outbound_ip, NULL) < 0)
		return -EINVAL;
	ret->uplink_index = (unsigned)index;
	return 0;
}

void net_dyno_record_format(const char *dyno_id, char ret[static NET_RECORD_MAX])
{
	snprintf(ret, NET_RECORD_MAX, "dyno=%s", dyno_id);
}

int net_dyno_record_parse(const char *alias, char ret[static ID_STRING_MAX])
{
	const char *p = alias;
	if (!p || parse_id_field(&p, "dyno=", ret) < 0 || *p)
		return -EINVAL;
	return 0;
}
