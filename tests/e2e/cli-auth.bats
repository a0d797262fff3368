#!/usr/bin/env bats
# The CLI's accounts and credentials end to end: users:create, login (flags, prompts read
# from stdin), ~/.netrc, auth:token, auth:whoami, logout, and how every failure to talk to
# the API reads. Also help and --version. HOME is a fresh directory (coved_start).

load helpers

setup_file() {
	coved_start
	MACHINE=${COVE_API_URL#http://}
	export MACHINE
}

teardown_file() {
	coved_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "users:create makes an account (platform administrators)" {
	run cove users:create dev@acme.test --password 'a long passphrase'
	[ "$status" -eq 0 ]
	[ "$output" = "Creating user dev@acme.test... done" ]
	run cove users:create ops@acme.test --password 'another passphrase' --admin
	[ "$status" -eq 0 ]
	[ "$output" = "Creating platform administrator ops@acme.test... done" ]
	run cove users --json
	[ "$(jq -r '.[] | select(.email == "ops@acme.test") | .admin' <<<"$output")" = true ]
	[ "$(jq -r '.[] | select(.email == "dev@acme.test") | .admin' <<<"$output")" = false ]
	run cove users
	[[ "$output" == *"dev@acme.test"*"user"* ]]
}

@test "users:create refuses a taken or malformed address, and a non-administrator" {
	msg=$(cli_refused 1 users:create dev@acme.test --password 'a long passphrase')
	[ "$msg" = "user 'dev@acme.test' already exists" ]
	msg=$(cli_refused 1 users:create not-an-address --password 'a long passphrase')
	[[ "$msg" == *"'not-an-address'"* ]]
	token=$(make_user eve@acme.test)
	msg=$(COVE_API_KEY=$token cli_refused 1 users:create mallory@acme.test --password 'a long passphrase')
	[ "$msg" = "only a platform administrator may do this" ]
}

@test "login --email --password writes ~/.netrc (mode 0600) and keeps other entries" {
	unset COVE_API_KEY
	printf 'machine git.example.org\n  login someone\n  password other-secret\n' >"$HOME/.netrc"
	run cove login --email dev@acme.test --password 'a long passphrase'
	[ "$status" -eq 0 ]
	[ "$output" = "Logged in as dev@acme.test" ]
	[ "$(stat -c %a "$HOME/.netrc")" = 600 ]
	grep -q '^machine git.example.org$' "$HOME/.netrc"
	grep -q 'password other-secret' "$HOME/.netrc"
	[ "$(grep -c "^machine $MACHINE login dev@acme.test password [0-9a-f]\{64\}$" "$HOME/.netrc")" = 1 ]
	# The token works, and is never printed by login.
	token=$(awk -v m="$MACHINE" '$1 == "machine" && $2 == m { print $6 }' "$HOME/.netrc")
	[[ "$output" != *"$token"* ]]
	[ "$(API_TOKEN=$token api_expect 200 GET /account | jq -r .email)" = dev@acme.test ]
}

@test "auth:whoami and auth:token use the login of ~/.netrc" {
	unset COVE_API_KEY
	run cove auth:whoami
	[ "$status" -eq 0 ]
	[ "$output" = dev@acme.test ]
	run cove auth:token
	token=$(awk -v m="$MACHINE" '$1 == "machine" && $2 == m { print $6 }' "$HOME/.netrc")
	[ "$output" = "$token" ]
	# COVE_API_KEY wins over ~/.netrc.
	COVE_API_KEY=$(cat "$COVED_DATA/admin.token") run cove auth:whoami
	[ "$output" = admin@cove.local ]
}

@test "login again replaces the entry of the machine; the password can come from stdin" {
	unset COVE_API_KEY
	old=$(awk -v m="$MACHINE" '$1 == "machine" && $2 == m { print $6 }' "$HOME/.netrc")
	run cove login --email ops@acme.test <<<'another passphrase'
	[ "$status" -eq 0 ]
	[ "$output" = "Logged in as ops@acme.test" ]
	[ "$(grep -c "^machine $MACHINE " "$HOME/.netrc")" = 1 ]
	grep -q "^machine $MACHINE login ops@acme.test " "$HOME/.netrc"
	grep -q 'password other-secret' "$HOME/.netrc"
	run cove auth:whoami
	[ "$output" = ops@acme.test ]
	# The e-mail address can come from stdin too, as the first line.
	run cove login <<<$'dev@acme.test\na long passphrase'
	[ "$status" -eq 0 ]
	[ "$output" = "Logged in as dev@acme.test" ]
	# Logging in again does not revoke the earlier token.
	API_TOKEN=$old api_expect 200 GET /account >/dev/null
}

@test "~/.netrc in heroku's layout, with comments, macdef and default, is read and kept" {
	token=$(make_user layout@acme.test 'layout passphrase')
	unset COVE_API_KEY
	cat >"$HOME/.netrc" <<-EOF
	# managed by hand
	machine git.example.org
	  login someone
	  password "quoted secret"
	macdef init
	machine $MACHINE password not-this-one

	machine $MACHINE
	  login layout@acme.test
	  password $token
	default login anonymous password guest
	EOF
	run cove auth:whoami
	[ "$status" -eq 0 ]
	[ "$output" = layout@acme.test ]
	run cove login --email dev@acme.test --password 'a long passphrase'
	[ "$status" -eq 0 ]
	# Everything but the entry of this machine is as it was; the macdef body was no entry.
	[ "$(head -6 "$HOME/.netrc")" = "$(printf '# managed by hand\nmachine git.example.org\n  login someone\n  password "quoted secret"\nmacdef init\nmachine %s password not-this-one' "$MACHINE")" ]
	grep -q '^default login anonymous password guest$' "$HOME/.netrc"
	[ "$(grep -c "^machine $MACHINE login dev@acme.test " "$HOME/.netrc")" = 1 ]
	! grep -q "$token" "$HOME/.netrc"
	run cove auth:whoami
	[ "$output" = dev@acme.test ]
	# Back to the simple file the next tests expect.
	{
		printf 'machine git.example.org\n  login someone\n  password other-secret\n'
		grep "^machine $MACHINE login" "$HOME/.netrc"
	} >"$HOME/.netrc.new"
	mv "$HOME/.netrc.new" "$HOME/.netrc"
}

@test "login with a wrong password fails clearly and changes nothing" {
	unset COVE_API_KEY
	before=$(cat "$HOME/.netrc")
	msg=$(cli_refused 1 login --email dev@acme.test --password wrong-password)
	[ "$msg" = "invalid credentials provided" ]
	msg=$(cli_refused 1 login --email nobody@acme.test --password 'a long passphrase')
	[ "$msg" = "invalid credentials provided" ]
	[ "$(cat "$HOME/.netrc")" = "$before" ]
	msg=$(cli_refused 1 login --email dev@acme.test)
	[[ "$msg" == "no answer"* ]]
}

@test "logout revokes the token and removes only its entry" {
	unset COVE_API_KEY
	token=$(awk -v m="$MACHINE" '$1 == "machine" && $2 == m { print $6 }' "$HOME/.netrc")
	run cove logout
	[ "$status" -eq 0 ]
	[ "$output" = "Logging out... done" ]
	! grep -q "^machine $MACHINE" "$HOME/.netrc"
	grep -q '^machine git.example.org$' "$HOME/.netrc"
	API_TOKEN=$token api GET /account >/dev/null
	[ "$(api_status)" = 401 ]
	run cove logout
	[ "$status" -eq 0 ]
	[ "$output" = "Not logged in to $MACHINE" ]
}

@test "authorizations lists the tokens of the account; authorizations:revoke revokes one" {
	token=$(make_user tok@acme.test)
	COVE_API_KEY=$token run cove authorizations --json
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
	id=$(jq -r '.[0].id' <<<"$output")
	COVE_API_KEY=$token run cove authorizations
	[[ "$output" == *"$id"* ]]
	[[ "$output" != *"$token"* ]]
	COVE_API_KEY=$token run cove authorizations:revoke "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "Revoking authorization $id... done" ]
	API_TOKEN=$token api GET /account >/dev/null
	[ "$(api_status)" = 401 ]
	msg=$(cli_refused 1 authorizations:revoke "$id")
	[ "$msg" = "authorization '$id' not found" ]
}

@test "without a token, commands say how to log in" {
	unset COVE_API_KEY
	msg=$(cli_refused 1 apps)
	[ "$msg" = "not logged in to $MACHINE: run 'cove login' or set COVE_API_KEY" ]
	msg=$(COVE_API_KEY=0123456789abcdef cli_refused 1 apps)
	[ "$msg" = "invalid credentials provided (the token in COVE_API_KEY)" ]
	echo "machine $MACHINE login x password revoked-token" >>"$HOME/.netrc"
	msg=$(cli_refused 1 spaces)
	[ "$msg" = "invalid credentials provided: run 'cove login'" ]
}

@test "a login by a user created with cove users:create works end to end" {
	unset COVE_API_KEY
	COVE_API_KEY=$(cat "$COVED_DATA/admin.token") cove users:create new@acme.test --password 'new passphrase' >/dev/null
	run cove login --email new@acme.test --password 'new passphrase'
	[ "$status" -eq 0 ]
	run cove teams:create newteam
	[ "$status" -eq 0 ]
	run cove teams
	[[ "$output" == *"newteam"*"admin"* ]]
	run cove logout
	[ "$status" -eq 0 ]
}

@test "an API that cannot be reached, or a bad URL, is one clear line" {
	msg=$(COVE_API_URL=http://127.0.0.1:1 cli_refused 1 apps)
	[[ "$msg" == "cannot reach the API at http://127.0.0.1:1: "* ]]
	msg=$(COVE_API_URL=ftp://127.0.0.1:1 cli_refused 1 apps)
	[ "$msg" = "API URL 'ftp://127.0.0.1:1' is invalid: use http:// or https://" ]
	# The default is 127.0.0.1:5000; a trailing slash is fine.
	run env COVE_API_URL="$COVE_API_URL/" cove auth:whoami
	[ "$output" = admin@cove.local ]
}

@test "--version, help, help TOPIC, help COMMAND, --help" {
	run cove --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^cove/[0-9]+\.[0-9]+\.[0-9]+$ ]]
	run cove help
	[ "$status" -eq 0 ]
	[[ "$output" == *"spaces:create"* ]]
	[[ "$output" == *"config:set"* ]]
	[[ "$output" == *"ps:scale"* ]]
	run cove
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: cove COMMAND"* ]]
	run cove help config
	[ "$status" -eq 0 ]
	[[ "$output" == *"config:get"*"config:set"*"config:unset"* ]]
	run cove help config:set
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Usage: cove config:set KEY=VALUE..." ]
	[[ "$output" == *"-a, --app APP"* ]]
	run cove spaces:create --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--region REGION"* ]]
	[[ "$output" == *"--data-cidr CIDR"* ]]
	msg=$(cli_refused 2 help nothing)
	[ "$msg" = "no help for 'nothing': see 'cove help'" ]
	msg=$(cli_refused 2 frobnicate)
	[ "$msg" = "'frobnicate' is not a cove command: see 'cove help'" ]
}
