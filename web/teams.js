// Teams and their members. Admins manage members; members see who is in the team.

import { api, apiList, seg } from './api.js';
import { go, me } from './main.js';
import { badge, card, confirm, describe, field, flash, form, h, live, notice, pageHeader, table, time } from './ui.js';

export async function listPage({ main, life }) {
	const list = live(life, async () => {
		await me.load(true);
		const teams = [...me.teams].sort((a, b) => a.name.localeCompare(b.name));
		return table([
			['Name', (t) => h('a', { href: `#/teams/${seg(t.name)}`, class: 'strong' }, t.name)],
			['Your role', (t) => badge(t.role === 'admin' ? 'up' : 'muted', t.role)],
			['Created', (t) => time(t.created_at)],
		], teams, { caption: 'Teams', empty: 'You are in no team yet: create one.' });
	}, { label: 'Loading teams' });
	list.reload();
	const name = h('input', { class: 'input', name: 'name', required: true, maxlength: 30, pattern: '[a-z][a-z0-9]*(-[a-z0-9]+)*', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
	main.replaceChildren(
		pageHeader({ title: 'Teams', subtitle: 'A team owns spaces and apps; its admins manage the network and the members.' }),
		card(null, list),
		card('New team', form({ class: 'inline-form', 'aria-label': 'New team' }, [
			field('Team name', name),
			h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create team'),
		], async () => {
			const t = await api('POST', '/teams', { name: name.value.trim() });
			await me.load(true);
			flash('ok', `Team ${t.name} created: you are its admin.`, { keep: true });
			go(`#/teams/${seg(t.name)}`);
		})));
}

export async function teamPage({ main, life, params }) {
	const [ref] = params;
	const team = await api('GET', `/teams/${seg(ref)}`, undefined, { signal: life.signal });
	const isAdmin = me.isAdminOf(team) || team.role === 'admin';
	const members = live(life, async () => {
		const list = await apiList(`/teams/${seg(team.name)}/members`, { signal: life.signal });
		const admins = list.filter((m) => m.role === 'admin').length;
		return table([
			['E-mail', (m) => h('span', { class: 'strong' }, m.email)],
			['Role', (m) => {
				if (!isAdmin) return badge(m.role === 'admin' ? 'up' : 'muted', m.role);
				const sel = h('select', { class: 'input input-small', 'aria-label': `Role of ${m.email}` },
					h('option', { value: 'admin' }, 'admin'), h('option', { value: 'member' }, 'member'));
				sel.value = m.role;
				sel.addEventListener('change', async () => {
					sel.disabled = true;
					try {
						await api('PATCH', `/teams/${seg(team.name)}/members`, { email: m.email, role: sel.value });
						flash('ok', `${m.email} is now ${sel.value === 'admin' ? 'an admin' : 'a member'} of ${team.name}.`);
						await me.load(true);
						members.reload();
					} catch (err) {
						sel.value = m.role;
						flash('error', describe(err));
					} finally {
						sel.disabled = false;
					}
				});
				return sel;
			}],
			['Since', (m) => time(m.created_at)],
			['', (m) => (isAdmin && !(m.role === 'admin' && admins === 1) ? h('button', {
				type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove ${m.email}`,
				onclick: async () => {
					if (!await confirm({ title: `Remove ${m.email} from ${team.name}?`, message: 'They lose access to the team’s spaces and apps.', action: 'Remove member', danger: true })) return;
					try {
						await api('DELETE', `/teams/${seg(team.name)}/members/${seg(m.email)}`);
						flash('ok', `${m.email} removed from ${team.name}.`);
						members.reload();
					} catch (err) {
						flash('error', describe(err));
					}
				},
			}, 'Remove') : null), 'actions'],
		], list, { caption: `Members of ${team.name}`, empty: 'No members.' });
	}, { label: 'Loading members' });
	members.reload();

	const owned = live(life, async () => {
		const [spaces, apps] = await Promise.all([apiList('/spaces', { signal: life.signal }), apiList(`/teams/${seg(team.name)}/apps`, { signal: life.signal })]);
		const mine = spaces.filter((s) => s.team.id === team.id);
		return h('div', { class: 'grid2 tight' },
			h('div', null, h('h3', null, 'Spaces'), mine.length
				? h('ul', { class: 'plain' }, mine.map((s) => h('li', null, h('a', { href: `#/spaces/${seg(s.name)}` }, s.name), ' ', badge(s.state))))
				: h('p', { class: 'empty' }, 'None.')),
			h('div', null, h('h3', null, 'Apps'), apps.length
				? h('ul', { class: 'plain' }, apps.map((a) => h('li', null, h('a', { href: `#/apps/${seg(a.name)}` }, a.name), h('span', { class: 'muted' }, ` in ${a.space.name}`))))
				: h('p', { class: 'empty' }, 'None.')));
	});
	owned.reload();

	const email = h('input', { type: 'email', class: 'input', name: 'email', required: true, autocomplete: 'off', spellcheck: 'false' });
	const role = h('select', { class: 'input', name: 'role' }, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'));
	main.replaceChildren(
		pageHeader({ crumbs: [['Teams', '#/teams']], title: team.name, badges: [badge(isAdmin ? 'up' : 'muted', isAdmin ? 'you are an admin' : 'you are a member')] }),
		card('Members', members,
			isAdmin
				? form({ class: 'inline-form', 'aria-label': 'Add a member' }, [
					field('E-mail', email),
					field('Role', role),
					h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add member'),
				], async () => {
					const m = await api('PUT', `/teams/${seg(team.name)}/members`, { email: email.value.trim(), role: role.value });
					email.value = '';
					members.reload();
					return `${m.email} added to ${team.name} as ${m.role}.`;
				})
				: notice('info', `Read-only: only admins of ${team.name} may add, change or remove members.`)),
		card('Spaces and apps', owned),
		isAdmin ? card('Destroy team', h('div', { class: 'danger-zone' },
			h('p', null, 'A team that still has spaces or apps cannot be destroyed.'),
			h('button', {
				type: 'button', class: 'btn btn-danger',
				onclick: async () => {
					if (!await confirm({ title: `Destroy team ${team.name}?`, message: 'This cannot be undone.', action: 'Destroy team', danger: true, name: team.name })) return;
					try {
						await api('DELETE', `/teams/${seg(team.name)}`);
						await me.load(true);
						flash('ok', `Team ${team.name} destroyed.`, { keep: true });
						go('#/teams');
					} catch (err) {
						flash('error', describe(err));
					}
				},
			}, 'Destroy team…'))) : null);
}
