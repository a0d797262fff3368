// Apps: the list, creating one in a space, and an app's pages (overview with its dynos,
// resources, config vars, releases, domains, logs, access, settings).

import { ApiError, api, apiList, notAvailable, seg, session } from './api.js';
import { go, me } from './main.js';
import {
	ago, badge, card, confirm, describe, facts, field, flash, form, h, live, mono, notice, pageHeader, table, tabs, time,
} from './ui.js';

const SIZES = ['Private-XS', 'Private-S', 'Private-M', 'Private-L'];

export async function listPage({ main, life }) {
	const list = live(life, async () => {
		const apps = await apiList('/apps', { signal: life.signal });
		apps.sort((a, b) => a.name.localeCompare(b.name));
		return table([
			['Name', (a) => h('a', { href: `#/apps/${seg(a.name)}`, class: 'strong' }, a.name)],
			['Space', (a) => h('a', { href: `#/spaces/${seg(a.space.name)}` }, a.space.name)],
			['Team', (a) => a.team.name],
			['Region', (a) => a.region.name],
			['Updated', (a) => time(a.updated_at)],
		], apps, { caption: 'Apps', empty: 'No apps yet. Create one in a space.' });
	}, { label: 'Loading apps' });
	list.reload();
	main.replaceChildren(
		pageHeader({
			title: 'Apps',
			subtitle: 'Every app you can see, across your teams’ spaces.',
			actions: [h('a', { class: 'btn btn-primary', href: '#/apps/new' }, 'New app')],
		}),
		card(null, list));
}

export async function createPage({ main, life, query }) {
	const spaces = await apiList('/spaces', { signal: life.signal });
	spaces.sort((a, b) => a.name.localeCompare(b.name));
	const name = h('input', { name: 'name', class: 'input', maxlength: 30, pattern: '[a-z][a-z0-9]*(-[a-z0-9]+)*', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
	const space = h('select', { name: 'space', class: 'input', required: true },
		spaces.map((s) => h('option', { value: s.name }, `${s.name} (${s.team.name}, ${s.region.name})`)));
	const wanted = query.get('space');
	if (wanted && spaces.some((s) => s.name === wanted)) space.value = wanted;
	const internal = h('input', { type: 'checkbox', name: 'internal_routing' });
	main.replaceChildren(
		pageHeader({ crumbs: [['Apps', '#/apps']], title: 'New app' }),
		!spaces.length ? notice('info', 'An app lives in a space, and you see none. ', h('a', { href: '#/spaces/new' }, 'Create a space'), ' first.') : null,
		card(null, form({ class: 'stack narrow', 'aria-label': 'New app' }, [
			field('Name', name, 'Optional: a name is made up when left empty. Lower-case letters, digits and dashes.'),
			field('Space', space),
			h('div', { class: 'field check' }, h('label', null, internal, ' Internal routing: reachable only from inside the space')),
			h('div', { class: 'form-actions' },
				h('button', { type: 'submit', class: 'btn btn-primary', disabled: !spaces.length }, 'Create app'),
				h('a', { class: 'btn', href: '#/apps' }, 'Cancel')),
		], async () => {
			const body = { space: space.value };
			if (name.value.trim()) body.name = name.value.trim();
			if (internal.checked) body.internal_routing = true;
			const a = await api('POST', '/apps', body);
			flash('ok', `App ${a.name} created in ${a.space.name}.`, { keep: true });
			go(`#/apps/${seg(a.name)}`);
		})));
}

const APP_TABS = [
	['overview', 'Overview'], ['resources', 'Resources'], ['config', 'Config vars'], ['releases', 'Releases'],
	['domains', 'Domains'], ['logs', 'Logs'], ['access', 'Access'], ['settings', 'Settings'],
];

export async function appPage({ main, life, params }) {
	const [ref, tab = 'overview'] = params;
	const app = await api('GET', `/apps/${seg(ref)}`, undefined, { signal: life.signal });
	const base = `#/apps/${seg(app.name)}`;
	const body = h('div', { class: 'tab-body' });
	main.replaceChildren(
		pageHeader({
			crumbs: [['Apps', '#/apps'], [app.space.name, `#/spaces/${seg(app.space.name)}`]],
			title: app.name,
			badges: [app.maintenance ? badge('maintenance', 'maintenance') : null, app.internal_routing ? badge('internal', 'internal') : null],
			subtitle: h('span', null, 'Space ', h('a', { href: `#/spaces/${seg(app.space.name)}` }, app.space.name), ` · team ${app.team.name} · ${app.region.name}`),
		}),
		tabs(`App ${app.name}`, APP_TABS.map(([k, t]) => [k, t, k === 'overview' ? base : `${base}/${k}`]), tab),
		body);
	const ctx = { app, base, life, path: `/apps/${seg(app.id)}` };
	const pages = { overview, resources, config, releases, domains, logs, access, settings };
	const nodes = await pages[tab](ctx);
	body.append(...[].concat(nodes).filter(Boolean));
}

// ---- overview -----------------------------------------------------------------------------

function dynoSummary(dynos) {
	const counts = {};
	for (const d of dynos) counts[d.state] = (counts[d.state] || 0) + 1;
	return Object.entries(counts).map(([state, n]) => badge(state, `${n} ${state}`));
}

async function overview(ctx) {
	const { app, life, path } = ctx;
	let formation = [];
	const formationEl = h('div');
	const dynosEl = live(life, async () => {
		const [dynos, f] = await Promise.all([
			apiList(`${path}/dynos`, { signal: life.signal }),
			apiList(`${path}/formation`, { signal: life.signal }),
		]);
		formation = f;
		const wanted = formation.reduce((n, x) => n + x.quantity, 0);
		formationEl.replaceChildren(formation.length
			? h('ul', { class: 'formation-summary' }, formation.map((x) => h('li', null, h('strong', null, x.type), ` ${x.quantity} × ${x.size}`)))
			: h('p', { class: 'empty' }, 'No process types yet: deploy the app with ', mono(`git push ${app.git_url} main`), '.'));
		const head = h('div', { class: 'dyno-summary', 'aria-label': 'Dyno states' }, dynoSummary(dynos));
		let empty = 'No dynos are running.';
		if (wanted > 0) empty = `The formation asks for ${wanted} dyno${wanted === 1 ? '' : 's'}: they appear here as an agent of ${app.region.name} starts them.`;
		else if (formation.length) empty = 'No dynos: every process type is scaled to 0. Scale one on Resources.';
		return h('div', null, dynos.length ? head : null, table([
			['Dyno', (d) => h('strong', { class: 'mono' }, d.name)],
			['State', (d) => badge(d.state)],
			['Size', (d) => d.size],
			['Command', (d) => mono(d.command)],
			['Release', (d) => `v${d.release.version}`],
			['Private IP', (d) => (d.private_ip ? mono(d.private_ip) : h('span', { class: 'muted' }, '—'))],
			['Since', (d) => time(d.updated_at)],
		], dynos, { caption: 'Dynos', empty, rowAttrs: (d) => ({ dataset: { dyno: d.name } }) }));
	}, { label: 'Loading dynos' });
	// Live: dyno states as the agents report them.
	life.every(2000, async () => {
		await dynosEl.reload();
		return true;
	});
	const releaseEl = live(life, async () => {
		const list = await apiList(`${path}/releases`, { signal: life.signal });
		const current = list.filter((r) => r.current).pop() || list[list.length - 1];
		return current
			? h('p', null, h('a', { href: `${ctx.base}/releases` }, `v${current.version}`), ` ${current.description} · `, time(current.created_at))
			: h('p', { class: 'empty' }, 'No releases.');
	});
	releaseEl.reload();
	return [
		h('div', { class: 'grid2' },
			card('App', facts([
				['Space', h('a', { href: `#/spaces/${seg(app.space.name)}` }, app.space.name)],
				['Team', h('a', { href: `#/teams/${seg(app.team.name)}` }, app.team.name)],
				['Region', app.region.name],
				['Stack', app.stack.name],
				['Web URL', mono(app.web_url)],
				['Git URL', mono(app.git_url)],
			])),
			h('div', null, card('Latest release', releaseEl), card('Formation', formationEl, h('p', null, h('a', { href: `${ctx.base}/resources` }, 'Scale on Resources'))))),
		card(null,
			h('div', { class: 'card-head' }, h('h2', null, 'Dynos'),
				h('button', {
					type: 'button', class: 'btn btn-small',
					onclick: async () => {
						if (!await confirm({ title: `Restart all dynos of ${app.name}?`, message: 'Each dyno is stopped and started again.', action: 'Restart all' })) return;
						try {
							await api('DELETE', `${path}/dynos`);
							flash('ok', `Restarting all dynos of ${app.name}.`);
						} catch (err) {
							flash('error', describe(err));
						}
					},
				}, 'Restart all dynos')),
			dynosEl),
	];
}

// ---- resources: formation and add-ons -----------------------------------------------------

function formationRow(ctx, f, refresh) {
	const max = Math.max(10, f.quantity);
	const qty = h('input', { type: 'number', class: 'input qty', min: 0, max: 100, step: 1, value: f.quantity, name: `${f.type}-quantity`, 'aria-label': `${f.type} dynos` });
	const slider = h('input', { type: 'range', min: 0, max, step: 1, value: f.quantity, 'aria-label': `${f.type} dynos (slider)`, tabindex: '-1' });
	const size = h('select', { class: 'input', name: `${f.type}-size`, 'aria-label': `${f.type} size` },
		SIZES.map((s) => h('option', { value: s }, s)));
	size.value = SIZES.find((s) => s.toLowerCase() === f.size.toLowerCase()) || f.size;
	const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, 'Save');
	const changed = () => {
		save.disabled = Number(qty.value) === f.quantity && size.value.toLowerCase() === f.size.toLowerCase();
	};
	qty.addEventListener('input', () => {
		slider.value = qty.value;
		changed();
	});
	slider.addEventListener('input', () => {
		qty.value = slider.value;
		changed();
	});
	size.addEventListener('change', changed);
	return form({ class: 'formation-row', 'aria-label': `Scale ${f.type}`, dataset: { type: f.type } }, [
		h('div', { class: 'formation-type' }, h('strong', null, f.type), mono(f.command)),
		h('div', { class: 'formation-controls' }, slider, qty, size, save),
	], async () => {
		const body = { quantity: Number(qty.value), size: size.value };
		const r = await api('PATCH', `${ctx.path}/formation/${seg(f.type)}`, body);
		refresh();
		return `Scaled ${r.type} to ${r.quantity} × ${r.size}.`;
	});
}

async function resources(ctx) {
	const { life, path } = ctx;
	const formationEl = live(life, async () => {
		const list = await apiList(`${path}/formation`, { signal: life.signal });
		list.sort((a, b) => (a.type === 'web' ? -1 : b.type === 'web' ? 1 : a.type.localeCompare(b.type)));
		if (!list.length) return h('p', { class: 'empty' }, 'No process types yet: when a release brings a slug, the types of its Procfile appear here.');
		return h('div', { class: 'formation' }, list.map((f) => formationRow(ctx, f, () => formationEl.reload())));
	}, { label: 'Loading formation' });
	formationEl.reload();
	return [card('Formation', h('p', { class: 'hint' }, 'How many dynos of each process type run, and how large. Sizes: Private-XS 512 MB, Private-S 1 GB, Private-M 2.5 GB, Private-L 14 GB.'), formationEl), addonsCard(ctx)];
}

// The catalog of add-on services and their plans, read once per page view.
async function addonCatalog(signal) {
	const services = await apiList('/addon-services', { signal });
	return Promise.all(services.map(async (s) => ({
		service: s,
		plans: await apiList(`/addon-services/${seg(s.name)}/plans`, { signal }),
	})));
}

function planLimits(p) {
	const l = p.limits || {};
	const size = l.storage_gb !== undefined ? `${l.storage_gb} GB storage` : `${l.maxmemory_mb} MB maxmemory`;
	return `${l.memory_mb} MB memory, ${l.max_connections} connections, ${size}`;
}

function addonsCard(ctx) {
	const { app, life, path } = ctx;
	let catalog = null;
	let creating = false;
	const el = live(life, async () => {
		let addons;
		try {
			addons = await apiList(`${path}/addons`, { signal: life.signal });
			if (!catalog) catalog = await addonCatalog(life.signal);
			creating = addons.some((a) => a.state !== 'provisioned');
		} catch (err) {
			if (notAvailable(err)) return notice('info', 'Add-ons (PostgreSQL and Redis inside the space) are not available on this cove yet.');
			throw err;
		}
		const service = h('select', { class: 'input', name: 'service', required: true, 'aria-label': 'Service' },
			catalog.map((c) => h('option', { value: c.service.name }, c.service.human_name)));
		const plan = h('select', { class: 'input', name: 'plan', required: true, 'aria-label': 'Plan' });
		const limits = h('p', { class: 'hint', 'aria-live': 'polite' });
		const fillPlans = () => {
			const c = catalog.find((x) => x.service.name === service.value) || catalog[0];
			plan.replaceChildren(...(c ? c.plans : []).map((p) => h('option', { value: p.name, selected: p.default || null }, p.human_name)));
			showLimits();
		};
		const showLimits = () => {
			const c = catalog.find((x) => x.service.name === service.value);
			const p = c && c.plans.find((x) => x.name === plan.value);
			limits.textContent = p ? `${p.name}: ${planLimits(p)}.` : '';
		};
		service.addEventListener('change', fillPlans);
		plan.addEventListener('change', showLimits);
		fillPlans();
		return h('div', null,
			table([
				['Add-on', (a) => h('span', null, h('strong', null, a.name), ' ', h('span', { class: 'hint' }, (a.addon_service && a.addon_service.name) || ''))],
				['Plan', (a) => (a.plan && a.plan.name) || ''],
				['State', (a) => badge(a.state === 'provisioned' ? 'up' : 'starting', a.state === 'provisioned' ? 'created' : 'creating')],
				['Config', (a) => (a.config_vars || []).map((v) => mono(v))],
				['Address', (a) => (a.private_ip ? mono(`${a.private_ip}:${a.port}`) : '—')],
				['', (a) => (a.app && a.app.name !== app.name ? h('span', { class: 'hint' }, `of ${a.app.name}`) : h('button', {
					type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Destroy ${a.name}`,
					onclick: async () => {
						if (!await confirm({ title: `Destroy ${a.name}?`, message: 'Its server stops and its data is deleted. This cannot be undone.', action: 'Destroy add-on', danger: true, name: a.name })) return;
						try {
							await api('DELETE', `${path}/addons/${seg(a.id)}`);
							flash('ok', `Add-on ${a.name} destroyed with its data.`);
							el.reload();
						} catch (err) {
							flash('error', describe(err));
						}
					},
				}, 'Destroy…')), 'actions'],
			], addons, { caption: 'Add-ons', empty: 'No add-ons.' }),
			form({ class: 'inline-form', 'aria-label': 'Create an add-on' }, [
				field('Service', service),
				field('Plan', plan),
				h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create add-on'),
			], async () => {
				const a = await api('POST', `${path}/addons`, { plan: plan.value });
				el.reload();
				return `Add-on ${a.name} is being created in the space of ${app.name}; ${(a.config_vars || []).join(', ')} is set once it is up.`;
			}),
			limits);
	}, { label: 'Loading add-ons' });
	el.reload();
	// Followed only while an add-on is being created: a reload rebuilds the form.
	life.every(3000, async () => {
		if (creating) await el.reload();
		return !el.querySelector('.notice-info');
	});
	return card('Add-ons', el);
}

// ---- config vars --------------------------------------------------------------------------

async function config(ctx) {
	const { life, path } = ctx;
	let reveal = false;
	const toggle = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false' }, 'Reveal values');
	const el = live(life, async () => {
		const vars = await api('GET', `${path}/config-vars`, undefined, { signal: life.signal });
		const keys = Object.keys(vars).sort();
		const row = (k) => {
			const tr = h('tr', { dataset: { key: k } });
			const show = () => tr.replaceChildren(
				h('td', { 'data-label': 'Key' }, h('strong', { class: 'mono' }, k)),
				h('td', { 'data-label': 'Value', class: 'value' }, reveal ? h('code', { class: 'mono wrap' }, vars[k]) : h('span', { class: 'masked', 'aria-label': 'hidden value' }, '••••••••')),
				h('td', { 'data-label': '', class: 'actions' },
					h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Edit ${k}`, onclick: edit }, 'Edit'),
					h('button', {
						type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove ${k}`,
						onclick: async () => {
							if (!await confirm({ title: `Remove ${k}?`, message: 'This makes a new release and restarts the dynos.', action: 'Remove', danger: true })) return;
							try {
								const r = await setVars(ctx, { [k]: null });
								flash('ok', `Removed ${k}${r}.`);
								el.reload();
							} catch (err) {
								flash('error', describe(err));
							}
						},
					}, 'Remove')));
			const edit = () => {
				const input = h('textarea', { class: 'input mono', rows: 1, 'aria-label': `Value of ${k}` });
				input.value = vars[k];
				const f = form({ class: 'edit-row', 'aria-label': `Edit ${k}` }, [
					input,
					h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Save'),
					h('button', { type: 'button', class: 'btn btn-small', onclick: show }, 'Cancel'),
				], async () => {
					const r = await setVars(ctx, { [k]: input.value });
					el.reload();
					return `Set ${k}${r}.`;
				});
				input.addEventListener('keydown', (ev) => {
					if (ev.key === 'Escape') show();
					if (ev.key === 'Enter' && !ev.shiftKey) {
						ev.preventDefault();
						f.requestSubmit();
					}
				});
				tr.replaceChildren(h('td', { 'data-label': 'Key' }, h('strong', { class: 'mono' }, k)), h('td', { colspan: 2, 'data-label': 'Value' }, f));
				input.focus();
			};
			show();
			return tr;
		};
		return keys.length
			? h('div', { class: 'table-wrap' }, h('table', { class: 'list config' },
				h('caption', { class: 'visually-hidden' }, 'Config vars'),
				h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
				h('tbody', null, keys.map(row))))
			: h('p', { class: 'empty' }, 'No config vars.');
	}, { label: 'Loading config vars' });
	el.reload();
	toggle.addEventListener('click', () => {
		reveal = !reveal;
		toggle.textContent = reveal ? 'Hide values' : 'Reveal values';
		toggle.setAttribute('aria-pressed', String(reveal));
		el.reload();
	});
	const key = h('input', { class: 'input mono', name: 'key', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]*', placeholder: 'KEY', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' });
	const value = h('input', { class: 'input mono', name: 'value', placeholder: 'value', autocomplete: 'off', spellcheck: 'false' });
	return card('Config vars',
		h('div', { class: 'card-tools' }, h('p', { class: 'hint' }, 'Environment of every dyno. Each change makes a release.'), toggle),
		el,
		form({ class: 'inline-form config-add', 'aria-label': 'Add a config var' }, [
			field('Key', key),
			field('Value', value),
			h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add'),
		], async () => {
			const k = key.value.trim();
			const r = await setVars(ctx, { [k]: value.value });
			key.value = '';
			value.value = '';
			key.focus();
			el.reload();
			return `Set ${k}${r}.`;
		}));
}

// Sets config vars; returns " (release vN)" when the change made one.
async function setVars(ctx, vars) {
	const before = await latestRelease(ctx);
	await api('PATCH', `${ctx.path}/config-vars`, vars);
	const after = await latestRelease(ctx);
	return after && (!before || after.version !== before.version) ? `: release v${after.version}` : '';
}

async function latestRelease(ctx) {
	const list = await api('GET', `${ctx.path}/releases`, undefined, { headers: { Range: 'version ..; max=1, order=desc' } });
	return list[0];
}

// ---- releases -----------------------------------------------------------------------------

async function releases(ctx) {
	const { app, life, path } = ctx;
	const el = live(life, async () => {
		const list = await apiList(`${path}/releases`, { signal: life.signal });
		list.sort((a, b) => b.version - a.version);
		const current = list.find((r) => r.current && r.status === 'succeeded') || list.find((r) => r.status === 'succeeded');
		return table([
			['Version', (r) => h('strong', null, `v${r.version}`)],
			['Description', (r) => [r.description, r === current ? [' ', badge('up', 'current')] : null]],
			['By', (r) => (r.user && r.user.email) || ''],
			['Status', (r) => badge(r.status)],
			['When', (r) => time(r.created_at)],
			['', (r) => (r !== current && r.eligible_for_rollback !== false && r.status === 'succeeded'
				? h('button', {
					type: 'button', class: 'btn btn-small', 'aria-label': `Roll back to v${r.version}`,
					onclick: async (ev) => {
						if (!await confirm({ title: `Roll back ${app.name} to v${r.version}?`, message: `A new release copies v${r.version}’s slug and config vars, and the dynos restart on it.`, action: `Roll back to v${r.version}` })) return;
						ev.target.disabled = true;
						try {
							const n = await api('POST', `${path}/releases`, { release: r.id });
							flash('ok', `Rolled back to v${r.version}: release v${n.version} created.`);
							el.reload();
						} catch (err) {
							ev.target.disabled = false;
							flash('error', describe(err));
						}
					},
				}, 'Roll back')
				: null), 'actions'],
		], list, { caption: 'Releases', empty: 'No releases.', rowAttrs: (r) => ({ dataset: { version: r.version } }) });
	}, { label: 'Loading releases' });
	life.every(5000, async () => {
		await el.reload();
		return true;
	});
	return [
		card('Releases', h('p', { class: 'hint' }, 'Every deploy and config change is a release. Rolling back makes a new release from an old one.'), el),
		buildsCard(ctx),
	];
}

// Builds from git pushes, newest first, with their output; live while one runs.
function buildsCard(ctx) {
	const { app, life, path } = ctx;
	const output = h('pre', { class: 'logs build-output', hidden: true, tabindex: '0', 'aria-label': 'Build output' });
	let shown = null;
	const showOutput = async (b) => {
		shown = b.id;
		output.hidden = false;
		const res = await fetch(new URL(b.output_stream_url, location.href).pathname, {
			headers: { Authorization: `Bearer ${session.token}` }, credentials: 'omit', cache: 'no-store', signal: life.signal,
		});
		if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `the build output answered HTTP ${res.status}`);
		const text = await res.text();
		output.textContent = text || '(no output yet)';
	};
	const el = live(life, async () => {
		let builds;
		try {
			builds = await apiList(`${path}/builds`, { signal: life.signal });
		} catch (err) {
			if (notAvailable(err)) return notice('info', 'Builds are not available on this cove yet.');
			throw err;
		}
		builds.sort((a, b) => b.created_at.localeCompare(a.created_at));
		if (shown && builds.some((b) => b.id === shown && b.status === 'pending')) showOutput(builds.find((b) => b.id === shown)).catch(() => {});
		return table([
			['Commit', (b) => mono((b.source_blob && b.source_blob.version ? b.source_blob.version : '').slice(0, 8) || '—')],
			['Status', (b) => badge(b.status)],
			['Release', (b) => (b.release ? `v${b.release.version}` : '—')],
			['By', (b) => (b.user && b.user.email) || ''],
			['When', (b) => time(b.created_at)],
			['', (b) => h('button', {
				type: 'button', class: 'btn btn-small', 'aria-label': `Output of the build of ${ago(b.created_at)}`,
				onclick: () => showOutput(b).catch((err) => flash('error', describe(err))),
			}, 'Output'), 'actions'],
		], builds, { caption: 'Builds', empty: h('span', null, 'No builds yet. Deploy with git: ', mono(`git push ${app.git_url} main`)) });
	}, { label: 'Loading builds' });
	life.every(3000, async () => {
		await el.reload();
		return !el.querySelector('.notice-info');
	});
	return card('Builds', el, output);
}

// ---- domains ------------------------------------------------------------------------------

async function domains(ctx) {
	const { app, life, path } = ctx;
	const el = live(life, async () => {
		let list;
		try {
			list = await apiList(`${path}/domains`, { signal: life.signal });
		} catch (err) {
			if (notAvailable(err)) {
				return h('div', null,
					notice('info', 'Custom domains are not available on this cove yet.'),
					facts([['Default domain', mono(app.web_url)]]));
			}
			throw err;
		}
		const hostname = h('input', { class: 'input mono', name: 'hostname', required: true, placeholder: 'www.example.com', autocomplete: 'off', spellcheck: 'false' });
		return h('div', null,
			table([
				['Hostname', (d) => h('strong', { class: 'mono' }, d.hostname)],
				['Kind', (d) => d.kind || 'custom'],
				['DNS target', (d) => (d.cname ? mono(d.cname) : '—')],
				['Status', (d) => badge(d.status || 'up', d.status || 'active')],
				['', (d) => (d.kind === 'heroku' ? null : h('button', {
					type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove ${d.hostname}`,
					onclick: async () => {
						if (!await confirm({ title: `Remove ${d.hostname}?`, message: `${app.name} stops answering for it.`, action: 'Remove domain', danger: true })) return;
						try {
							await api('DELETE', `${path}/domains/${seg(d.id)}`);
							flash('ok', `Removed ${d.hostname}.`);
							el.reload();
						} catch (err) {
							flash('error', describe(err));
						}
					},
				}, 'Remove')), 'actions'],
			], list, { caption: 'Domains', empty: 'No custom domains.' }),
			form({ class: 'inline-form', 'aria-label': 'Add a domain' }, [
				field('Hostname', hostname),
				h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add domain'),
			], async () => {
				const d = await api('POST', `${path}/domains`, { hostname: hostname.value.trim() });
				el.reload();
				return `Added ${d.hostname}${d.cname ? `: point its DNS at ${d.cname}` : ''}.`;
			}));
	}, { label: 'Loading domains' });
	el.reload();
	return card('Domains', el);
}

// ---- logs ---------------------------------------------------------------------------------

const LOG_LINES_MAX = 1500;

async function logs(ctx) {
	const { app, life, path } = ctx;
	const view = h('pre', { class: 'logs', role: 'log', 'aria-label': `Logs of ${app.name}`, tabindex: '0' });
	const status = h('p', { class: 'log-status', role: 'status' }, 'Connecting…');
	const filter = h('input', { type: 'search', class: 'input', placeholder: 'Filter lines', 'aria-label': 'Filter log lines' });
	const pause = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false' }, 'Pause');
	const clear = h('button', { type: 'button', class: 'btn btn-small', onclick: () => view.replaceChildren() }, 'Clear');
	let paused = false;
	let held = [];
	const matches = (line) => !filter.value || line.toLowerCase().includes(filter.value.toLowerCase());
	const show = (line) => {
		const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 40;
		const m = line.match(/^(\S+) ([^:\s]+(?:\[[^\]]*\])?): (.*)$/);
		const el = m
			? h('div', { class: 'log-line' }, h('span', { class: 'log-time' }, m[1]), ' ', h('span', { class: `log-src ${m[2].startsWith('app[api]') ? 'src-api' : m[2].startsWith('heroku') ? 'src-heroku' : 'src-app'}` }, m[2]), ': ', m[3])
			: h('div', { class: 'log-line' }, line);
		el.hidden = !matches(line);
		el.dataset.text = line;
		view.appendChild(el);
		while (view.childElementCount > LOG_LINES_MAX) view.firstElementChild.remove();
		if (atBottom) view.scrollTop = view.scrollHeight;
	};
	filter.addEventListener('input', () => {
		for (const el of view.children) el.hidden = !matches(el.dataset.text);
	});
	pause.addEventListener('click', () => {
		paused = !paused;
		pause.textContent = paused ? 'Resume' : 'Pause';
		pause.setAttribute('aria-pressed', String(paused));
		if (!paused) {
			held.forEach(show);
			held = [];
		}
	});
	const line = (l) => (paused ? held.push(l) : show(l));

	const unavailable = h('div');
	// The stream is Server-Sent Events (`id:`/`data:` fields, as cove's log service sends) or
	// plain lines. After a break the page opens a new session and resumes after the last event
	// it saw (Last-Event-ID), so no line shows twice; a plain stream resumes without backlog.
	let lastId = null;
	let first = true;
	const connect = async () => {
		let logSession;
		try {
			logSession = await api('POST', `${path}/log-sessions`, { tail: true, lines: first ? 100 : 1 }, { signal: life.signal });
		} catch (err) {
			if (err.name === 'AbortError') return;
			if (notAvailable(err)) {
				status.textContent = '';
				unavailable.replaceChildren(notice('info', 'Live logs are not available on this cove yet.'));
				view.hidden = true;
				return;
			}
			status.textContent = `Cannot open the log stream: ${describe(err)}. Retrying…`;
			setTimeout(() => life.alive && connect(), 3000);
			return;
		}
		const resumed = !first;
		first = false;
		await stream(logSession.logplex_url, resumed);
	};
	const stream = async (url, resumed) => {
		// The stream is served by this same origin; the page's policy allows no other.
		const u = new URL(url, location.href);
		const target = u.origin === location.origin ? u.href : `${u.pathname}${u.search}`;
		const headers = { Authorization: `Bearer ${session.token}`, Accept: 'text/event-stream, text/plain' };
		if (lastId !== null) headers['Last-Event-ID'] = lastId;
		try {
			const res = await fetch(target, { headers, credentials: 'omit', cache: 'no-store', signal: life.signal });
			if (!res.ok || !res.body) throw new ApiError(res.status, `http_${res.status}`, `the log stream answered HTTP ${res.status}`);
			const sse = (res.headers.get('Content-Type') || '').startsWith('text/event-stream');
			// A plain stream has no ids: the backlog of a resumed session would repeat lines.
			let skip = resumed && !sse ? 1 : 0;
			status.textContent = 'Streaming: new lines appear as they come.';
			const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
			let rest = '';
			let data = [];
			let id = null;
			const field = (raw) => {
				const l = raw.replace(/\r$/, '');
				if (!sse) {
					if (!l.trim()) return;
					if (skip > 0) skip--;
					else line(l);
					return;
				}
				if (l === '') { // the end of an event
					if (id !== null) lastId = id;
					for (const d of data) line(d);
					data = [];
					id = null;
					return;
				}
				if (l.startsWith(':')) return; // a comment: keepalive
				const colon = l.indexOf(':');
				const name = colon < 0 ? l : l.slice(0, colon);
				let value = colon < 0 ? '' : l.slice(colon + 1);
				if (value.startsWith(' ')) value = value.slice(1);
				if (name === 'data') data.push(value);
				else if (name === 'id') id = value;
			};
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				rest += value;
				const parts = rest.split('\n');
				rest = parts.pop();
				parts.forEach(field);
			}
			if (rest) field(rest);
			field('');
			status.textContent = 'The stream ended. Reconnecting…';
		} catch (err) {
			if (err.name === 'AbortError' || !life.alive) return;
			status.textContent = `The stream broke: ${describe(err)}. Reconnecting…`;
		}
		setTimeout(() => life.alive && connect(), 2000);
	};
	connect();
	return card('Logs',
		h('div', { class: 'card-tools' }, filter, pause, clear),
		status, unavailable, view);
}

// ---- access -------------------------------------------------------------------------------

async function access(ctx) {
	const { app, life, path } = ctx;
	const el = live(life, async () => {
		const list = await apiList(`${path}/collaborators`, { signal: life.signal });
		return table([
			['User', (c) => c.user.email],
			['Role', (c) => badge(c.role === 'admin' ? 'up' : 'muted', c.role)],
			['Permissions', (c) => (c.permissions || []).map((p) => p.name).join(', ')],
		], list, { caption: 'Access', empty: 'Nobody.' });
	}, { label: 'Loading access' });
	el.reload();
	return card('Access',
		h('p', { class: 'hint' }, 'Everyone in team ', h('a', { href: `#/teams/${seg(app.team.name)}` }, app.team.name), ' works with this app: admins manage it, members view, deploy and scale. Change who is in the team on the team’s page.'),
		el);
}

// ---- settings -----------------------------------------------------------------------------

async function settings(ctx) {
	const { app, path } = ctx;
	const name = h('input', { class: 'input', name: 'name', required: true, value: app.name, maxlength: 30, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
	const maint = h('input', { type: 'checkbox', role: 'switch', checked: app.maintenance, 'aria-label': 'Maintenance mode' });
	maint.addEventListener('change', async () => {
		maint.disabled = true;
		try {
			const a = await api('PATCH', path, { maintenance: maint.checked });
			app.maintenance = a.maintenance;
			flash('ok', `Maintenance mode is ${a.maintenance ? 'on' : 'off'} for ${app.name}.`);
		} catch (err) {
			maint.checked = !maint.checked;
			flash('error', describe(err));
		} finally {
			maint.disabled = false;
		}
	});
	const canDestroy = me.isAdminOf(app.team) || null;
	return [
		card('App', facts([['Name', app.name], ['ID', mono(app.id)], ['Created', time(app.created_at)], ['Stack', app.stack.name], ['Git URL', mono(app.git_url)]])),
		card('Name', form({ class: 'inline-form', 'aria-label': 'Rename app' }, [
			field('App name', name),
			h('button', { type: 'submit', class: 'btn' }, 'Rename'),
		], async () => {
			const a = await api('PATCH', path, { name: name.value.trim() });
			flash('ok', `App renamed to ${a.name}.`, { keep: true });
			go(`#/apps/${seg(a.name)}/settings`);
		})),
		card('Maintenance mode', h('label', { class: 'switch' }, maint, h('span', null, 'Serve a maintenance page instead of the app'))),
		card('Destroy app', h('div', { class: 'danger-zone' },
			h('p', null, 'Destroying the app stops its dynos and deletes its config, releases and slugs.'),
			canDestroy ? null : h('p', { class: 'hint' }, `Only its creator or an admin of team ${app.team.name} may destroy it.`),
			h('button', {
				type: 'button', class: 'btn btn-danger',
				onclick: async () => {
					if (!await confirm({ title: `Destroy app ${app.name}?`, message: 'This cannot be undone.', action: 'Destroy app', danger: true, name: app.name })) return;
					try {
						await api('DELETE', path);
						flash('ok', `App ${app.name} destroyed.`, { keep: true });
						go(`#/spaces/${seg(app.space.name)}/apps`);
					} catch (err) {
						flash('error', describe(err));
					}
				},
			}, 'Destroy app…'))),
	];
}

