// The dashboard's client of the Platform API: same origin, the token of the login kept in
// sessionStorage (it goes with the tab, never into a cookie), errors as ApiError with the
// API's own message.

const TOKEN_KEY = 'cove.token';
const EMAIL_KEY = 'cove.email';
const ACCEPT = 'application/vnd.heroku+json; version=3';

export class ApiError extends Error {
	constructor(status, id, message) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.id = id;
	}
}

export const session = {
	get token() {
		return sessionStorage.getItem(TOKEN_KEY);
	},
	get email() {
		return sessionStorage.getItem(EMAIL_KEY) || '';
	},
	set(token, email) {
		sessionStorage.setItem(TOKEN_KEY, token);
		sessionStorage.setItem(EMAIL_KEY, email);
	},
	clear() {
		sessionStorage.removeItem(TOKEN_KEY);
		sessionStorage.removeItem(EMAIL_KEY);
	},
};

// Called with the error when the API answers 401 to a call made with a token: the session
// has ended (revoked, or the store was reset).
let onUnauthorized = null;
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

async function request(method, path, body, { signal, headers: extra = {} } = {}) {
	const headers = { Accept: ACCEPT, ...extra };
	const token = session.token;
	if (token && !headers.Authorization) headers.Authorization = `Bearer ${token}`;
	const init = { method, headers, credentials: 'omit', cache: 'no-store', signal };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(path, init);
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		throw new ApiError(0, 'network', 'cannot reach the cove API: check that coved is running');
	}
	const text = await res.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch {
			if (res.ok) throw new ApiError(res.status, 'bad_response', `${method} ${path}: the answer is not JSON`);
		}
	}
	if (!res.ok) {
		const message = (data && typeof data.message === 'string' && data.message) || `${method} ${path}: HTTP ${res.status}`;
		const err = new ApiError(res.status, (data && data.id) || `http_${res.status}`, message);
		if (res.status === 401 && token && !extra.Authorization && onUnauthorized) onUnauthorized(err);
		throw err;
	}
	return { data, res };
}

// One call: the parsed body, or an ApiError.
export async function api(method, path, body, opts) {
	return (await request(method, path, body, opts)).data;
}

// A whole list, following Next-Range (at most `pages` pages).
export async function apiList(path, { signal, pages = 10 } = {}) {
	let range = null; // the API's default order first; then what Next-Range says
	let all = [];
	for (let i = 0; i < pages; i++) {
		const headers = range ? { Range: range } : {};
		const { data, res } = await request('GET', path, undefined, { signal, headers });
		if (!Array.isArray(data)) throw new ApiError(res.status, 'bad_response', `GET ${path}: expected a list`);
		all = all.concat(data);
		const next = res.headers.get('Next-Range');
		if (res.status !== 206 || !next) break;
		range = next;
	}
	return all;
}

// Encodes e-mail:password for HTTP Basic as UTF-8 (btoa alone takes Latin-1 only).
function basic(user, password) {
	const bytes = new TextEncoder().encode(`${user}:${password}`);
	let bin = '';
	for (const b of bytes) bin += String.fromCharCode(b);
	return `Basic ${btoa(bin)}`;
}

// Logs in: a new token for e-mail and password, kept for this tab.
export async function login(email, password) {
	const data = await api('POST', '/oauth/authorizations', { description: 'cove dashboard' }, {
		headers: { Authorization: basic(email, password) },
	});
	const token = data && data.access_token && data.access_token.token;
	if (!token) throw new ApiError(500, 'bad_response', 'the API gave no token');
	session.set(token, (data.user && data.user.email) || email);
}

// Logs out: revokes the token in use (best effort: a dead API must not keep anyone logged in).
export async function logout() {
	try {
		if (session.token) await api('DELETE', '/oauth/authorizations/~');
	} catch {
		/* the token goes from this tab either way */
	}
	session.clear();
}

// True when the error says the API has no such route: a feature this cove does not serve
// (yet), as opposed to a resource that does not exist.
export function notAvailable(err) {
	return err instanceof ApiError &&
		((err.status === 404 && /^no route/.test(err.message)) || err.status === 501 || err.status === 405);
}

// Path segment: names are safe already, but ids and user input go through this.
export const seg = (s) => encodeURIComponent(String(s));
