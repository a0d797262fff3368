// The dashboard's shell: the header, the router (hash URLs, so that no page path can ever
// shadow an API path), the login page, and what every page needs to know about the caller.

import { api, apiList, login, logout, session, setUnauthorizedHandler } from './api.js';
import { PageLife, describe, errorNotice, field, flash, flashNavigated, form, h, loading } from './ui.js';
import * as spaces from './spaces.js';
import * as apps from './apps.js';
import * as teams from './teams.js';

// The caller: the account and their teams with roles, loaded once per login and refreshed when
// a team changes. Permissions are the API's; these only decide what to offer.
export const me = {
	account: null,
	teams: null,
	async load(force = false) {
		if (!this.account || force) this.account = await api('GET', '/account');
		if (!this.teams || force) this.teams = await apiList('/teams');
		return this;
	},
	reset() {
		this.account = null;
		this.teams = null;
	},
	isPlatformAdmin() {
		return !!(this.account && this.account.admin);
	},
	// 'admin', 'member' or null for a team of the caller (by name or id).
	role(team) {
		if (this.isPlatformAdmin()) return 'admin';
		const ref = typeof team === 'object' && team ? team.name || team.id : team;
		const t = (this.teams || []).find((x) => x.name === ref || x.id === ref);
		return t ? t.role : null;
	},
	isAdminOf(team) {
		return this.role(team) === 'admin';
	},
};

const routes = [
	[/^\/login$/, loginPage, { public: true }],
	[/^\/?$/, () => go('#/spaces', true)],
	[/^\/spaces$/, spaces.listPage],
	[/^\/spaces\/new$/, spaces.createPage],
	[/^\/spaces\/([^/]+)(?:\/(overview|apps|network|topology|settings))?$/, spaces.spacePage],
	[/^\/apps$/, apps.listPage],
	[/^\/apps\/new$/, apps.createPage],
	[/^\/apps\/([^/]+)(?:\/(overview|resources|config|releases|domains|logs|access|settings))?$/, apps.appPage],
	[/^\/teams$/, teams.listPage],
	[/^\/teams\/([^/]+)$/, teams.teamPage],
];

let life = null;

export function go(hash, replace = false) {
	if (replace) {
		history.replaceState(null, '', hash);
		route();
	} else if (location.hash === hash) {
		route();
	} else {
		location.hash = hash;
	}
}

function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/';
	const [path, qs] = raw.split('?');
	return { path, query: new URLSearchParams(qs || '') };
}

async function route() {
	if (life) life.leave();
	life = new PageLife();
	const current = life;
	flashNavigated();
	const { path, query } = parseHash();
	const main = document.getElementById('main');
	let match = null;
	let handler = null;
	let opts = {};
	for (const [re, fn, o] of routes) {
		match = path.match(re);
		if (match) {
			handler = fn;
			opts = o || {};
			break;
		}
	}
	if (!opts.public && !session.token) {
		go(`#/login?next=${encodeURIComponent(path)}`, true);
		return;
	}
	renderShell();
	document.body.dataset.page = path.split('/')[1] || 'home';
	main.setAttribute('aria-busy', 'true');
	main.replaceChildren(loading());
	try {
		if (!handler) {
			main.replaceChildren(h('h1', { tabindex: '-1' }, 'Not found'),
				h('p', null, 'No page here. ', h('a', { href: '#/spaces' }, 'Go to your spaces'), '.'));
		} else {
			if (!opts.public) await me.load();
			const params = match.slice(1).map((p) => (p === undefined ? p : decodeURIComponent(p)));
			await handler({ main, life: current, params, query });
		}
	} catch (err) {
		if (err.name === 'AbortError' || current !== life) return;
		main.replaceChildren(h('h1', { tabindex: '-1' }, 'Something went wrong'), errorNotice(err, () => route()));
	}
	if (current !== life) return;
	main.setAttribute('aria-busy', 'false');
	const h1 = main.querySelector('h1');
	if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
	document.title = h1 ? `${h1.textContent} · cove` : 'cove';
	markNav(path);
}

function markNav(path) {
	for (const a of document.querySelectorAll('.nav a')) {
		const section = a.getAttribute('href').replace(/^#/, '');
		if (path === section || path.startsWith(`${section}/`)) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
}

function renderShell() {
	const bar = document.getElementById('account');
	if (!bar) return;
	if (!session.token) {
		bar.replaceChildren();
		document.querySelector('.nav').hidden = true;
		return;
	}
	document.querySelector('.nav').hidden = false;
	if (bar.dataset.email === session.email) return;
	bar.dataset.email = session.email;
	bar.replaceChildren(
		h('span', { class: 'who', title: 'Logged in as' }, session.email),
		h('button', {
			type: 'button', class: 'btn btn-small', onclick: async () => {
				await logout();
				me.reset();
				delete bar.dataset.email;
				flash('ok', 'You are logged out.', { keep: true });
				go('#/login');
			},
		}, 'Log out'));
}

// ---- login --------------------------------------------------------------------------------

async function loginPage({ main, query }) {
	const next = query.get('next');
	if (session.token) {
		// Logged in already (a link to the login page, or the back button).
		go(next && next.startsWith('/') && next !== '/login' ? `#${next}` : '#/spaces', true);
		return;
	}
	const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, class: 'input', value: session.email || '' });
	const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, class: 'input' });
	main.replaceChildren(h('div', { class: 'login' },
		h('div', { class: 'login-card' },
			h('div', { class: 'login-brand', 'aria-hidden': 'true' }, h('img', { src: '/dashboard/icon.svg', alt: '', width: 40, height: 40 })),
			h('h1', { tabindex: '-1' }, 'Log in to cove'),
			h('p', { class: 'subtitle' }, 'Private spaces on your own hosts.'),
			form({ class: 'stack', 'aria-label': 'Log in' }, [
				field('E-mail', email),
				field('Password', password),
				h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in'),
			], async () => {
				try {
					await login(email.value.trim(), password.value);
				} catch (err) {
					password.value = '';
					password.focus();
					throw err;
				}
				me.reset();
				go(next && next.startsWith('/') && next !== '/login' ? `#${next}` : '#/spaces');
			}))));
	(email.value ? password : email).focus();
}

// ---- start --------------------------------------------------------------------------------

setUnauthorizedHandler((err) => {
	session.clear();
	me.reset();
	const { path } = parseHash();
	flash('error', `Your session has ended: ${describe(err)}. Log in again.`, { keep: true });
	if (path !== '/login') go(`#/login?next=${encodeURIComponent(path)}`, true);
});

window.addEventListener('hashchange', route);
// The skip link must not touch the hash: the hash is the page.
document.getElementById('skip').addEventListener('click', (ev) => {
	ev.preventDefault();
	document.getElementById('main').focus();
});
window.addEventListener('unhandledrejection', (ev) => {
	if (ev.reason && ev.reason.name === 'AbortError') return ev.preventDefault();
	flash('error', describe(ev.reason));
});
route();
