/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The builder: what runs when an app is pushed. `coved receive-hook` is the pre-receive hook
 * of every app repository (src/api/api-git.c writes it and hands it its environment: the
 * API's URL, the pusher's token, the app, the push's id, the build settings). It
 *
 *   1. refuses refs other than main and master, with a message that says what to push;
 *   2. registers a build with the API, checks the pushed commit out, writes the app's config
 *      vars into ENV_DIR, and picks the buildpacks (the app's, app.json's, or the first
 *      shipped one whose bin/detect accepts the app);
 *   3. runs detect, compile and release of each buildpack, then packs /app into a slug, in a
 *      dyno sandbox (src/sandbox) as the app's uid, with the app's build cache, within the
 *      build's time limit, and no network but the egress proxy (build-proxy.h);
 *   4. reads the process types (bin/release's defaults, the Procfile over them), checks the
 *      slug's size, uploads it, runs the Procfile's `release` command in a second sandbox,
 *      and reports the build, which the API turns into the release "Deploy <commit>";
 *
 * printing all along for the pusher, in Heroku's style ("-----> ..."), and into the build's
 * output file (DATA_DIR/builds/<id>.log). Exit status 0 lets the push in; any other rejects
 * it, and then nothing was released. docs/deploy.md is the user's and operator's view.
 */

/* `coved receive-hook`: runs as git's pre-receive hook; returns the exit status. */
int build_receive_hook_main(void);
