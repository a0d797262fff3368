// Spaces: the list, creating one, and a space's pages (overview, apps, network, topology,
// settings).

import { ApiError, api, apiList, seg } from './api.js';
import { go, me } from './main.js';
import {
	ago, badge, card, confirm, describe, facts, field, flash, form, h, live, mono, notice,
	pageHeader, table, tabs, time,
} from './ui.js';

const BUSY = new Set(['allocating', 'deleting']);

const STATE_TEXT = {
	allocating: 'A host of the region is building the space’s network: its namespace, bridge, NAT and firewall.',
	allocated: 'The network is up: apps of this space can run dynos.',
	deleting: 'The space’s host is taking its network apart.',
};

export async function listPage({ main, life }) {
	const list = live(life, async () => {
		const rows = await apiList('/spaces', { signal: life.signal });
		rows.sort((a, b) => a.name.localeCompare(b.name));
		return table([
			['Name', (s) => h('a', { href: `#/spaces/${seg(s.name)}`, class: 'strong' }, s.name)],
			['Team', (s) => s.team.name],
			['Region', (s) => s.region.name],
			['CIDR', (s) => mono(s.cidr)],
			['State', (s) => badge(s.state)],
			['Created', (s) => time(s.created_at)],
		], rows, { caption: 'Spaces', empty: 'No spaces yet. A space is a private network in a region that holds apps: create one to begin.' });
	}, { label: 'Loading spaces' });
	main.replaceChildren(
		pageHeader({
			title: 'Spaces',
			subtitle: 'Network-isolated runtimes, each in a region, holding apps and their dynos.',
			actions: [h('a', { class: 'btn btn-primary', href: '#/spaces/new' }, 'New space')],
		}),
		card(null, list));
	// Live: spaces being allocated or deleted change state without a reload.
	life.every(3000, async () => {
		await list.reload();
		return true;
	});
}

export async function createPage({ main, life }) {
	const [regions] = await Promise.all([apiList('/regions', { signal: life.signal }), me.load(true)]);
	const adminTeams = (me.teams || []).filter((t) => me.isAdminOf(t));
	const name = h('input', { name: 'name', class: 'input', required: true, maxlength: 30, pattern: '[a-z][a-z0-9]*(-[a-z0-9]+)*', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
	const team = h('select', { name: 'team', class: 'input', required: true },
		(me.teams || []).map((t) => h('option', { value: t.name, disabled: !me.isAdminOf(t) }, me.isAdminOf(t) ? t.name : `${t.name} (member: cannot create)`)));
	if (adminTeams.length) team.value = adminTeams[0].name;
	const region = h('select', { name: 'region', class: 'input' },
		h('option', { value: '' }, 'Default region'),
		regions.map((r) => h('option', { value: r.name }, `${r.name} — ${r.description}`)));
	const cidr = h('input', { name: 'cidr', class: 'input mono', placeholder: '10.0.0.0/16', autocomplete: 'off', spellcheck: 'false' });
	const dataCidr = h('input', { name: 'data_cidr', class: 'input mono', placeholder: '10.1.0.0/16', autocomplete: 'off', spellcheck: 'false' });
	const shield = h('input', { type: 'checkbox', name: 'shield' });
	const noTeams = !(me.teams || []).length;
	main.replaceChildren(
		pageHeader({ crumbs: [['Spaces', '#/spaces']], title: 'New space' }),
		noTeams ? notice('info', 'A space belongs to a team, and you are in none. ', h('a', { href: '#/teams' }, 'Create a team'), ' first.') : null,
		!noTeams && !adminTeams.length ? notice('info', 'Only team admins may create spaces; you are a member of your teams.') : null,
		card(null, form({ class: 'stack narrow', 'aria-label': 'New space' }, [
			field('Name', name, 'Lower-case letters, digits and dashes; unique on this cove.'),
			field('Team', team),
			field('Region', region, 'A host of this region allocates the space.'),
			h('div', { class: 'row2' },
				field('CIDR', cidr, 'Private network of the dynos (RFC 1918, /8 to /24). Default 10.0.0.0/16.'),
				field('Data CIDR', dataCidr, 'Addresses of data services. Default 10.1.0.0/16.')),
			h('div', { class: 'field check' }, h('label', null, shield, ' Shield: stricter compliance controls')),
			h('div', { class: 'form-actions' },
				h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create space'),
				h('a', { class: 'btn', href: '#/spaces' }, 'Cancel')),
		], async () => {
			const body = { name: name.value.trim(), team: team.value };
			if (region.value) body.region = region.value;
			if (cidr.value.trim()) body.cidr = cidr.value.trim();
			if (dataCidr.value.trim()) body.data_cidr = dataCidr.value.trim();
			if (shield.checked) body.shield = true;
			const s = await api('POST', '/spaces', body);
			flash('ok', `Space ${s.name} created in ${s.region.name}: allocating its network.`, { keep: true });
			go(`#/spaces/${seg(s.name)}`);
		})));
}

const SPACE_TABS = [['overview', 'Overview'], ['apps', 'Apps'], ['network', 'Network'], ['topology', 'Topology'], ['settings', 'Settings']];

export async function spacePage({ main, life, params }) {
	const [ref, tab = 'overview'] = params;
	let space = await api('GET', `/spaces/${seg(ref)}`, undefined, { signal: life.signal });
	const base = `#/spaces/${seg(space.name)}`;
	const stateBadge = h('span', { class: 'state-slot' }, badge(space.state));
	const isAdmin = me.isAdminOf(space.team);
	const body = h('div', { class: 'tab-body' });
	main.replaceChildren(
		pageHeader({
			crumbs: [['Spaces', '#/spaces']],
			title: space.name,
			badges: [stateBadge, space.shield ? badge('shield', 'Shield') : null],
			subtitle: h('span', null, 'Team ', h('a', { href: `#/teams/${seg(space.team.name)}` }, space.team.name), ` · ${space.region.description || space.region.name}`),
		}),
		tabs(`Space ${space.name}`, SPACE_TABS.map(([k, t]) => [k, t, k === 'overview' ? base : `${base}/${k}`]), tab),
		body);

	// Every tab follows the space's state: allocation progress shows without a reload.
	const onSpace = [];
	const watchSpace = async () => {
		try {
			space = await api('GET', `/spaces/${seg(space.id)}`, undefined, { signal: life.signal });
		} catch (err) {
			if (err instanceof ApiError && err.status === 404) {
				flash('ok', `Space ${space.name} is destroyed.`, { keep: true });
				go('#/spaces');
				return false;
			}
			throw err;
		}
		stateBadge.replaceChildren(badge(space.state));
		for (const fn of onSpace) fn(space);
		return true;
	};

	const ctx = { space, base, isAdmin, life, onSpace, refreshSpace: watchSpace };
	if (tab === 'overview') body.append(overviewTab(ctx));
	else if (tab === 'apps') body.append(appsTab(ctx));
	else if (tab === 'network') body.append(...networkTab(ctx));
	else if (tab === 'topology') body.append(topologyTab(ctx));
	else if (tab === 'settings') body.append(...settingsTab(ctx));
	let last = space.state;
	life.every(2000, async () => {
		const ok = await watchSpace();
		if (ok && BUSY.has(last) && !BUSY.has(space.state)) flash('ok', `Space ${space.name} is ${space.state}.`);
		last = space.state;
		return ok;
	});
}

function progress(space) {
	if (!BUSY.has(space.state)) return null;
	return h('div', { class: 'progress-wrap' },
		h('div', { class: 'progress', role: 'progressbar', 'aria-label': `Space ${space.state}` }, h('span')),
		h('p', { class: 'hint' }, STATE_TEXT[space.state] || ''));
}

function outboundIps(ctx) {
	return live(ctx.life, async () => {
		const nat = await api('GET', `/spaces/${seg(ctx.space.id)}/nat`, undefined, { signal: ctx.life.signal });
		const ips = nat.sources || [];
		return h('div', { class: 'outbound' },
			ips.length
				? h('ul', { class: 'ip-list', 'aria-label': 'Outbound IPs' }, ips.map((ip) => h('li', null, mono(ip))))
				: h('p', { class: 'empty' }, nat.state === 'updating' ? 'Assigned when the space is allocated.' : 'None assigned.'),
			h('p', { class: 'hint' }, 'Traffic from this space’s dynos to the internet leaves from these stable addresses: allow them in your partners’ firewalls.'),
			' ', badge(nat.state));
	}, { label: 'Loading outbound IPs' });
}

function overviewTab(ctx) {
	const { space, life } = ctx;
	const info = h('div');
	const render = (s) => info.replaceChildren(
		progress(s) || h('p', { class: 'state-text' }, STATE_TEXT[s.state] || ''),
		facts([
			['State', badge(s.state)],
			['Team', h('a', { href: `#/teams/${seg(s.team.name)}` }, s.team.name)],
			['Region', `${s.region.name} (${s.region.description || s.region.name})`],
			['Dyno CIDR', mono(s.cidr)],
			['Data CIDR', mono(s.data_cidr)],
			['Shield', s.shield ? 'yes' : 'no'],
			['Created', time(s.created_at)],
			['ID', mono(s.id)],
		]));
	render(space);
	const ips = outboundIps(ctx);
	ips.reload();
	let lastState = space.state;
	ctx.onSpace.push((s) => {
		render(s);
		if (s.state !== lastState) ips.reload();
		lastState = s.state;
	});
	const appsCount = live(life, async () => {
		const apps = await apiList(`/spaces/${seg(space.id)}/apps`, { signal: life.signal });
		return h('p', null, apps.length === 1 ? '1 app' : `${apps.length} apps`, ' · ', h('a', { href: `${ctx.base}/apps` }, 'see the apps'));
	});
	appsCount.reload();
	return h('div', { class: 'grid2' }, card('Space', info), h('div', null, card('Outbound IPs', ips), card('Apps', appsCount)));
}

function appsTab(ctx) {
	const { space, life } = ctx;
	const list = live(life, async () => {
		const apps = await apiList(`/spaces/${seg(space.id)}/apps`, { signal: life.signal });
		apps.sort((a, b) => a.name.localeCompare(b.name));
		return table([
			['Name', (a) => h('a', { href: `#/apps/${seg(a.name)}`, class: 'strong' }, a.name)],
			['Stack', (a) => a.stack.name],
			['Routing', (a) => (a.internal_routing ? 'internal' : 'public')],
			['Status', (a) => (a.maintenance ? badge('maintenance', 'maintenance') : badge('up', 'live'))],
			['Updated', (a) => time(a.updated_at)],
		], apps, { caption: `Apps of ${space.name}`, empty: 'No apps in this space yet.' });
	}, { label: 'Loading apps' });
	list.reload();
	return card(null,
		h('div', { class: 'card-head' }, h('h2', null, `Apps in ${space.name}`),
			h('a', { class: 'btn btn-primary', href: `#/apps/new?space=${seg(space.name)}` }, 'New app')),
		list);
}

// A network ruleset of the space (trusted IP ranges, outbound rules), its list and its editor:
// admins add and remove rules, members read them. Each change PUTs the whole list, as the API
// takes it. The spec says what differs: the path, the words, a rule's view and the add form.
function ruleset(ctx, spec) {
	const { space, isAdmin, life } = ctx;
	const path = `/spaces/${seg(space.id)}/${spec.path}`;
	const el = live(life, async () => {
		let current;
		try {
			current = await api('GET', path, undefined, { signal: life.signal });
		} catch (err) {
			if (err instanceof ApiError && err.status === 403) {
				return notice('info', `You may not see the ${spec.words} of this space: ${describe(err)}`);
			}
			throw err;
		}
		const rules = (current.rules || []).map(spec.normalize);
		const save = async (next, msg) => {
			await api('PUT', path, { rules: next });
			flash('ok', msg);
			el.reload();
		};
		const remove = (r, i) => h('button', {
			type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove ${spec.name(r, i)}`,
			onclick: async (ev) => {
				const ok = await confirm({ title: `Remove ${spec.name(r, i)}?`, message: spec.removeMessage(r, rules.length === 1), action: 'Remove', danger: true });
				if (!ok) return;
				ev.target.disabled = true;
				try {
					await save(rules.filter((_, j) => j !== i), `Removed ${spec.name(r, i)}`);
				} catch (e) {
					ev.target.disabled = false;
					flash('error', describe(e));
				}
			},
		}, 'Remove');
		const list = rules.length
			? h('ul', { class: 'rule-list', 'aria-label': spec.title }, rules.map((r, i) => h('li', null, spec.view(r, i), isAdmin ? remove(r, i) : null)))
			: h('p', { class: 'empty' }, spec.empty);
		const add = spec.addForm();
		return h('div', null,
			list,
			isAdmin
				? form({ class: 'inline-form', 'aria-label': add.label }, [
					...add.fields,
					h('button', { type: 'submit', class: 'btn btn-primary' }, add.button),
				], async () => {
					const { rule, msg } = add.read();
					await save([...rules, rule], msg);
				})
				: notice('info', `Read-only: only admins of team ${space.team.name} may change network settings.`),
			current.created_by ? h('p', { class: 'hint' }, `Last changed by ${current.created_by} ${ago(current.created_at)}.`) : null);
	}, { label: `Loading ${spec.words}` });
	el.reload();
	return el;
}

// Trusted IP ranges (the space's inbound ruleset).
function trustedRanges(ctx) {
	const { space } = ctx;
	return ruleset(ctx, {
		path: 'inbound-ruleset',
		title: 'Trusted IP ranges',
		words: 'trusted IP ranges',
		empty: 'No ranges: no web traffic is allowed in.',
		normalize: (r) => ({ action: r.action || 'allow', source: r.source }),
		view: (r) => [mono(r.source), ' ', badge(r.action === 'allow' ? 'up' : 'crashed', r.action)],
		name: (r) => r.source,
		removeMessage: (r) => `Web traffic from ${r.source} will no longer be allowed into ${space.name}.`,
		addForm: () => {
			const cidr = h('input', { class: 'input mono', name: 'source', required: true, placeholder: '203.0.113.0/24', autocomplete: 'off', spellcheck: 'false' });
			return {
				label: 'Add a trusted IP range',
				button: 'Add range',
				fields: [field('Range (CIDR)', cidr)],
				read: () => {
					const source = cidr.value.trim();
					return { rule: { action: 'allow', source }, msg: `Added ${source} to the trusted IP ranges of ${space.name}` };
				},
			};
		},
	});
}

const PROTOCOLS = ['any', 'tcp', 'udp', 'icmp'];

function portsText(r) {
	if (r.protocol === 'any' || (r.from_port === 0 && r.to_port === (r.protocol === 'icmp' ? 255 : 65535))) return 'all ports';
	return r.from_port === r.to_port ? `port ${r.from_port}` : `ports ${r.from_port}-${r.to_port}`;
}

// "443", "8000-8100", or empty (all): [from, to]. ICMP's "ports" are its types, 0-255.
function parsePorts(text, protocol) {
	const all = [0, protocol === 'icmp' ? 255 : 65535];
	const t = text.trim();
	if (t === '' || t === 'any' || protocol === 'any') return all;
	const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(t);
	if (!m) throw new Error(`Ports: '${t}' is not a port or a range LOW-HIGH`);
	const from = Number(m[1]);
	const to = m[2] === undefined ? from : Number(m[2]);
	if (from > to || to > all[1]) throw new Error(`Ports: '${t}' is not within 0-${all[1]}, low to high`);
	return [from, to];
}

// Outbound rules (the space's outbound ruleset): an allowlist of what dynos may reach outside
// the space, numbered as the CLI numbers them.
function outboundRules(ctx) {
	const { space } = ctx;
	const ruleText = (r) => `${r.target} ${r.protocol} ${portsText(r)}`;
	return ruleset(ctx, {
		path: 'outbound-ruleset',
		title: 'Outbound rules',
		words: 'outbound rules',
		empty: 'No rules: dynos reach nothing outside the space (its DNS resolver still answers).',
		normalize: (r) => ({ target: r.target, from_port: r.from_port, to_port: r.to_port, protocol: r.protocol }),
		view: (r, i) => [h('span', { class: 'muted' }, `${i + 1}.`), ' ', mono(r.target), ' ', badge('up', r.protocol), ' ', portsText(r)],
		name: (r, i) => `rule ${i + 1} (${ruleText(r)})`,
		removeMessage: (r, last) => (last
			? `Dynos of ${space.name} will reach nothing outside the space.`
			: `Dynos of ${space.name} will no longer reach ${ruleText(r)} unless another rule allows it.`),
		addForm: () => {
			const target = h('input', { class: 'input mono', name: 'target', required: true, placeholder: '203.0.113.0/24', autocomplete: 'off', spellcheck: 'false' });
			const protocol = h('select', { class: 'input', name: 'protocol' }, PROTOCOLS.map((p) => h('option', { value: p }, p)));
			const ports = h('input', { class: 'input mono', name: 'ports', placeholder: 'all', autocomplete: 'off', spellcheck: 'false' });
			return {
				label: 'Add an outbound rule',
				button: 'Add rule',
				fields: [field('Destination (CIDR)', target), field('Protocol', protocol), field('Ports', ports)],
				read: () => {
					const [from, to] = parsePorts(ports.value, protocol.value);
					const rule = { target: target.value.trim(), from_port: from, to_port: to, protocol: protocol.value };
					return { rule, msg: `Added ${ruleText(rule)} to the outbound rules of ${space.name}` };
				},
			};
		},
	});
}

function networkTab(ctx) {
	const { space } = ctx;
	const ips = outboundIps(ctx);
	ips.reload();
	return [
		h('div', { class: 'grid2' },
			h('div', null,
				card('Trusted IP ranges',
					h('p', { class: 'hint' }, 'Web traffic to the apps of this space is allowed from these source ranges only. The API and the CLI are not affected.'),
					trustedRanges(ctx)),
				card('Outbound rules',
					h('p', { class: 'hint' }, 'Dynos of this space may open connections outside it to these destinations only. Traffic inside the space is not affected.'),
					outboundRules(ctx))),
			h('div', null,
				card('Outbound IPs', ips),
				card('Addresses', facts([['Dyno CIDR', mono(space.cidr)], ['Data CIDR', mono(space.data_cidr)]])))),
	];
}

function topologyTab(ctx) {
	const { space, life } = ctx;
	const el = live(life, async () => {
		const topo = await api('GET', `/spaces/${seg(space.id)}/topology`, undefined, { signal: life.signal });
		const rows = [];
		for (const app of topo.apps || []) {
			for (const f of app.formations || []) {
				for (const d of f.dynos || []) rows.push({ app, f, d });
			}
		}
		const apps = topo.apps || [];
		return h('div', null,
			table([
				['App', (r) => h('a', { href: `#/apps/${seg(r.app.name)}` }, r.app.name)],
				['Dyno', (r) => `${r.f.process_type}.${r.d.number}`],
				['Private IP', (r) => (r.d.private_ip ? mono(r.d.private_ip) : h('span', { class: 'muted' }, 'pending'))],
				['Hostname', (r) => mono(r.d.hostname)],
			], rows, { caption: `Dynos of ${space.name}`, empty: 'No dynos are running in this space.' }),
			apps.length ? h('h3', null, 'App domains') : null,
			apps.length ? h('ul', { class: 'plain' }, apps.map((a) => h('li', null, h('a', { href: `#/apps/${seg(a.name)}` }, a.name), ': ', (a.domains || []).map((d) => mono(d))))) : null);
	}, { label: 'Loading topology' });
	life.every(3000, async () => {
		await el.reload();
		return true;
	});
	return card('Topology',
		h('p', { class: 'hint' }, 'Every dyno of the space with its private address. Dynos reach each other on any port by these addresses or hostnames.'),
		el);
}

function settingsTab(ctx) {
	const { space, isAdmin } = ctx;
	const name = h('input', { class: 'input', name: 'name', required: true, value: space.name, maxlength: 30, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
	const readOnly = !isAdmin ? notice('info', `Read-only: only admins of team ${space.team.name} may rename or destroy this space.`) : null;
	return [
		readOnly,
		card('Name', form({ class: 'inline-form', 'aria-label': 'Rename space' }, [
			field('Space name', name),
			h('button', { type: 'submit', class: 'btn', disabled: !isAdmin }, 'Rename'),
		], async () => {
			const s = await api('PATCH', `/spaces/${seg(space.id)}`, { name: name.value.trim() });
			flash('ok', `Space renamed to ${s.name}.`, { keep: true });
			go(`#/spaces/${seg(s.name)}/settings`);
		})),
		card('Destroy space', h('div', { class: 'danger-zone' },
			h('p', null, 'Destroying a space takes its network apart and releases its outbound IP. A space that still has apps cannot be destroyed.'),
			h('button', {
				type: 'button', class: 'btn btn-danger', disabled: !isAdmin,
				onclick: async () => {
					const ok = await confirm({ title: `Destroy space ${space.name}?`, message: 'This cannot be undone.', action: 'Destroy space', danger: true, name: space.name });
					if (!ok) return;
					try {
						const s = await api('DELETE', `/spaces/${seg(space.id)}`);
						if (s.state === 'deleting') {
							flash('ok', `Space ${space.name} is being destroyed.`);
							ctx.refreshSpace();
						} else {
							flash('ok', `Space ${space.name} destroyed.`, { keep: true });
							go('#/spaces');
						}
					} catch (err) {
						flash('error', describe(err));
					}
				},
			}, 'Destroy space…'))),
	];
}

