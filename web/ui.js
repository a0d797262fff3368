// DOM helpers of the dashboard. Everything is built with h(): text goes in as text nodes,
// never as HTML, so nothing the API returns can inject markup.

import { ApiError, notAvailable } from './api.js';

// h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child, [more], null)
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	if (attrs) {
		for (const [k, v] of Object.entries(attrs)) {
			if (v === null || v === undefined || v === false) continue;
			if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
			else if (k === 'class') el.className = v;
			else if (k === 'dataset') Object.assign(el.dataset, v);
			else if (k === 'value') el.value = v;
			else if (k === 'checked') el.checked = !!v;
			else if (v === true) el.setAttribute(k, '');
			else el.setAttribute(k, String(v));
		}
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
}

// ---- time ---------------------------------------------------------------------------------

export function ago(iso) {
	if (!iso) return '';
	const t = Date.parse(iso);
	if (Number.isNaN(t)) return iso;
	const s = Math.round((Date.now() - t) / 1000);
	if (s < 5) return 'just now';
	if (s < 60) return `${s} seconds ago`;
	const m = Math.round(s / 60);
	if (m < 60) return m === 1 ? 'a minute ago' : `${m} minutes ago`;
	const hours = Math.round(m / 60);
	if (hours < 48) return hours === 1 ? 'an hour ago' : `${hours} hours ago`;
	return new Date(t).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function time(iso) {
	return h('time', { datetime: iso, title: iso }, ago(iso));
}

// ---- states -------------------------------------------------------------------------------

const STATE_KIND = {
	allocated: 'ok', up: 'ok', enabled: 'ok', succeeded: 'ok', provisioned: 'ok', available: 'ok',
	allocating: 'busy', starting: 'busy', pending: 'busy', updating: 'busy', provisioning: 'busy', restarting: 'busy',
	deleting: 'warn', stopping: 'warn', deprovisioning: 'warn', idle: 'warn',
	crashed: 'bad', failed: 'bad', down: 'bad', disabled: 'muted',
};

export function badge(state, label) {
	const kind = STATE_KIND[state] || 'muted';
	return h('span', { class: `badge badge-${kind}`, dataset: { state } }, label || state);
}

// ---- messages -----------------------------------------------------------------------------

let navSeq = 0;
const flashRegion = () => document.getElementById('flash');

// A message at the top of the page. Errors stay until dismissed or the next page; a message
// shown just before navigating (keep) survives that one navigation.
export function flash(kind, message, { keep = false } = {}) {
	const region = flashRegion();
	if (!region) return;
	const close = h('button', { type: 'button', class: 'flash-close', 'aria-label': 'Dismiss' }, '×');
	const el = h('div', { class: `flash flash-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { nav: navSeq, keep: keep ? '1' : '' } },
		h('span', { class: 'flash-text' }, message), close);
	close.addEventListener('click', () => el.remove());
	region.appendChild(el);
	while (region.children.length > 4) region.firstElementChild.remove();
	if (kind !== 'error') setTimeout(() => el.remove(), 8000);
	return el;
}

export function flashError(err) {
	if (err && err.name === 'AbortError') return;
	flash('error', describe(err));
}

export function describe(err) {
	if (err instanceof ApiError) return err.status ? `${err.message} (${err.status} ${err.id})` : err.message;
	return (err && err.message) || String(err);
}

export function flashNavigated() {
	navSeq++;
	const region = flashRegion();
	if (!region) return;
	for (const el of [...region.children]) {
		const born = Number(el.dataset.nav);
		if (born < navSeq - 1 || (born < navSeq && !el.dataset.keep)) el.remove();
	}
}

// ---- building blocks ----------------------------------------------------------------------

export function pageHeader({ crumbs = [], title, badges = [], subtitle, actions = [] }) {
	return h('header', { class: 'page-header' },
		crumbs.length ? h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
			crumbs.map(([label, href], i) => [i ? h('span', { class: 'sep', 'aria-hidden': 'true' }, '/') : null, h('a', { href }, label)])) : null,
		h('div', { class: 'title-row' },
			h('h1', { tabindex: '-1' }, title),
			badges,
			actions.length ? h('div', { class: 'actions' }, actions) : null),
		subtitle ? h('p', { class: 'subtitle' }, subtitle) : null);
}

export function tabs(label, items, current) {
	const nav = h('nav', { class: 'tabs', 'aria-label': label },
		h('ul', null, items.map(([key, text, href]) =>
			h('li', null, h('a', { href, 'aria-current': key === current ? 'page' : null }, text)))));
	// On a narrow screen the strip scrolls: keep the current tab in sight.
	requestAnimationFrame(() => {
		const a = nav.querySelector('[aria-current]');
		if (a && nav.scrollWidth > nav.clientWidth) nav.scrollLeft = Math.max(0, a.offsetLeft - (nav.clientWidth - a.offsetWidth) / 2);
	});
	return nav;
}

// A table that turns into stacked cards on narrow screens: each cell carries its column name.
// columns: [[label, cell(row) => node|string, className?]]
export function table(columns, rows, { caption, empty = 'Nothing here yet.', rowAttrs } = {}) {
	if (!rows.length) return h('p', { class: 'empty' }, empty);
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'list' },
			caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
			h('thead', null, h('tr', null, columns.map(([label, , cls]) => h('th', { scope: 'col', class: cls }, label)))),
			h('tbody', null, rows.map((row) =>
				h('tr', rowAttrs ? rowAttrs(row) : null,
					columns.map(([label, cell, cls]) => h('td', { 'data-label': label, class: cls }, cell(row))))))));
}

export function facts(pairs) {
	return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
}

export function card(title, ...children) {
	const id = `card-${Math.random().toString(36).slice(2, 8)}`;
	return h('section', { class: 'card', 'aria-labelledby': id }, title ? h('h2', { id }, title) : null, children);
}

export function loading(what = 'Loading') {
	return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${what}…`);
}

export function notice(kind, ...children) {
	return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : null }, children);
}

// What a section shows when its data could not be loaded: the API's message and a retry.
export function errorNotice(err, retry) {
	if (notAvailable(err)) return notice('info', 'This feature is not available on this cove.');
	return notice('error', h('p', null, describe(err)), retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again') : null);
}

export function field(label, input, hint) {
	const id = input.id || `f-${Math.random().toString(36).slice(2, 8)}`;
	input.id = id;
	const hintId = hint ? `${id}-hint` : null;
	if (hintId) input.setAttribute('aria-describedby', hintId);
	return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

// A form whose submit runs fn(form) with the submit button disabled meanwhile; errors become
// messages. fn may return a message to show.
export function form(attrs, children, fn) {
	const el = h('form', { ...attrs, novalidate: true }, children);
	el.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const submit = el.querySelector('[type=submit]');
		if (submit && submit.disabled) return;
		if (!el.checkValidity()) {
			el.reportValidity();
			return;
		}
		if (submit) submit.disabled = true;
		el.setAttribute('aria-busy', 'true');
		try {
			const msg = await fn(el);
			if (msg) flash('ok', msg);
		} catch (err) {
			flashError(err);
		} finally {
			if (submit && el.isConnected) submit.disabled = false;
			el.removeAttribute('aria-busy');
		}
	});
	return el;
}

// Asks before a change. With name, the user must type it to confirm (destructive actions).
export function confirm({ title, message, action = 'Confirm', danger = false, name = null }) {
	return new Promise((resolve) => {
		const input = name ? h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', class: 'input' }) : null;
		const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', disabled: !!name }, action);
		const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
			h('form', { method: 'dialog' },
				h('h2', { id: 'dlg-title' }, title),
				message ? h('p', null, message) : null,
				name ? field(h('span', null, 'Type ', h('strong', { class: 'mono' }, name), ' to confirm'), input) : null,
				h('div', { class: 'dialog-actions' }, cancel, ok)));
		let answer = false;
		if (input) input.addEventListener('input', () => { ok.disabled = input.value.trim() !== name; });
		cancel.addEventListener('click', () => dlg.close());
		dlg.querySelector('form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			if (name && input.value.trim() !== name) return;
			answer = true;
			dlg.close();
		});
		dlg.addEventListener('close', () => {
			dlg.remove();
			resolve(answer);
		});
		document.body.appendChild(dlg);
		dlg.showModal();
		(input || cancel).focus();
	});
}

// ---- the life of a page -------------------------------------------------------------------

// What a page started and must stop when the user leaves it: polls, streams, timers.
export class PageLife {
	constructor() {
		this.alive = true;
		this.controller = new AbortController();
		this.timers = new Set();
		this.cleanups = [];
	}

	get signal() {
		return this.controller.signal;
	}

	// Runs fn now and then every ms while the page is shown (and the tab visible). fn returns
	// false to stop. An error is shown in the status element given, once, and polling goes on.
	every(ms, fn) {
		const tick = async () => {
			if (!this.alive) return;
			let again = true;
			if (!document.hidden) {
				try {
					again = (await fn()) !== false;
				} catch (err) {
					if (err.name === 'AbortError') return;
					again = true;
				}
			}
			if (this.alive && again) {
				const t = setTimeout(() => { this.timers.delete(t); tick(); }, ms);
				this.timers.add(t);
			}
		};
		tick();
	}

	onLeave(fn) {
		this.cleanups.push(fn);
	}

	leave() {
		this.alive = false;
		this.controller.abort();
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
		for (const fn of this.cleanups) {
			try {
				fn();
			} catch {
				/* leaving goes on */
			}
		}
	}
}

// A section of a page that loads its own data and can reload it: shows a spinner the first
// time, keeps the last good view while reloading, and an error in place of the content when the
// load fails.
export function live(life, render, { label = 'Loading' } = {}) {
	const el = h('div', { class: 'live' }, loading(label));
	let loaded = false;
	const status = h('p', { class: 'live-status', role: 'status' });
	const reload = async () => {
		try {
			const node = await render();
			if (!life.alive) return;
			el.replaceChildren(node);
			loaded = true;
		} catch (err) {
			if (err.name === 'AbortError' || !life.alive) return;
			if (!loaded) el.replaceChildren(errorNotice(err, reload));
			else {
				status.textContent = `Live updates paused: ${describe(err)}`;
				el.appendChild(status);
			}
			throw err;
		}
	};
	el.reload = () => reload().catch(() => {});
	return el;
}

export function mono(s) {
	return h('code', { class: 'mono' }, s);
}
