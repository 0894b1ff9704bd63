#!/usr/bin/env node
// Builds build/townhall.node with the system's C compiler, offline: no
// node-gyp, no header download. It needs
//   - the headers of the Node that will load the addon (node_api.h): on
//     Debian 12 /usr/include/node from libnode-dev (Node 18); with another
//     Node, the include/node directory beside its binary;
//   - libtownhall installed with its townhall.pc (pkg-config), or its flags
//     given in TOWNHALL_CFLAGS and TOWNHALL_LIBS.
// Environment: CC (default cc), NODE_INCLUDE_DIR, PKG_CONFIG,
// TOWNHALL_CFLAGS, TOWNHALL_LIBS, TOWNHALL_RPATH (a directory to record as
// the addon's run path; by default pkg-config's libdir when it is not a
// system one), TOWNHALL_ADDON_OUT (where to write the addon instead of
// build/townhall.node; index.js then needs TOWNHALL_NODE_ADDON).
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function fail(message) {
  process.stderr.write(`townhall build: ${message}\n`);
  process.exit(1);
}

function split(flags) {
  return flags.trim().split(/\s+/).filter(Boolean);
}

// ---- Node's headers, and the check that they match this Node.
function nodeIncludeDir() {
  const tried = [];
  const candidates = [];
  if (process.env.NODE_INCLUDE_DIR) candidates.push(process.env.NODE_INCLUDE_DIR);
  // A Node installed under a prefix keeps its headers in PREFIX/include/node.
  candidates.push(path.resolve(path.dirname(process.execPath), '..', 'include', 'node'));
  candidates.push('/usr/include/node', '/usr/local/include/node');
  for (const dir of candidates) {
    tried.push(dir);
    if (fs.existsSync(path.join(dir, 'node_api.h'))) return dir;
  }
  fail(`no Node headers (node_api.h) found; tried:\n  ${tried.join('\n  ')}\n` +
       'Install them (Debian: apt-get install libnode-dev) or set NODE_INCLUDE_DIR.');
}

function headerMajor(dir) {
  const file = path.join(dir, 'node_version.h');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
  const m = /#define\s+NODE_MAJOR_VERSION\s+(\d+)/.exec(text);
  if (!m) fail(`${file} does not define NODE_MAJOR_VERSION`);
  return Number(m[1]);
}

// ---- libtownhall's flags.
function pkgConfig(args) {
  const pc = process.env.PKG_CONFIG || 'pkg-config';
  try {
    return execFileSync(pc, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const why = e.stderr ? String(e.stderr).trim() : e.message;
    fail(`${pc} ${args.join(' ')} failed: ${why}\n` +
         'Install libtownhall (make install) and make townhall.pc findable ' +
         '(PKG_CONFIG_PATH), or set TOWNHALL_CFLAGS and TOWNHALL_LIBS.');
  }
}

function townhallFlags() {
  if (process.env.TOWNHALL_LIBS !== undefined) {
    return {
      cflags: split(process.env.TOWNHALL_CFLAGS || ''),
      libs: split(process.env.TOWNHALL_LIBS),
      rpath: process.env.TOWNHALL_RPATH || null,
    };
  }
  const cflags = split(pkgConfig(['--cflags', 'townhall']));
  const libs = split(pkgConfig(['--libs', 'townhall']));
  let rpath = process.env.TOWNHALL_RPATH || null;
  if (!rpath) {
    // -L<dir> as pkg-config printed it (with any sysroot applied).
    const l = libs.find((f) => f.startsWith('-L'));
    const dir = l ? l.slice(2) : null;
    const system = ['/usr/lib', '/lib', '/usr/lib64', '/lib64',
      '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu',
      '/usr/lib/aarch64-linux-gnu', '/lib/aarch64-linux-gnu'];
    if (dir && !system.includes(path.resolve(dir))) rpath = dir;
  }
  return { cflags, libs, rpath };
}

function main() {
  const here = __dirname;
  const include = nodeIncludeDir();
  const major = headerMajor(include);
  const running = Number(process.versions.node.split('.')[0]);
  if (major !== running) {
    fail(`the headers in ${include} are for Node ${major}, but this is Node ` +
         `${process.versions.node} (${process.execPath}): an addon must be ` +
         'built against the headers of the Node that loads it. Use that ' +
         'Node to build, or set NODE_INCLUDE_DIR to its include/node.');
  }
  const th = townhallFlags();
  const out = path.resolve(process.env.TOWNHALL_ADDON_OUT || path.join(here, 'build', 'townhall.node'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const cc = process.env.CC || 'cc';
  const args = [
    '-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror',
    '-fPIC', '-shared', '-fvisibility=hidden',
    ...th.cflags, `-I${include}`,
    '-o', out, path.join(here, 'src', 'townhall_node.c'),
    ...th.libs,
  ];
  if (th.rpath) args.push(`-Wl,-rpath,${th.rpath}`);
  // townhall.pc lists libuv (its header includes <uv.h>), but the addon
  // calls no libuv function: do not load a second libuv into Node.
  if (process.platform === 'linux') args.splice(args.indexOf('-o'), 0, '-Wl,--as-needed');
  // Node resolves N-API symbols itself when it loads the addon.
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  if (process.env.TOWNHALL_BUILD_VERBOSE) process.stderr.write(`${cc} ${args.join(' ')}\n`);
  try {
    execFileSync(cc, args, { stdio: 'inherit' });
  } catch (e) {
    fail(`${cc} failed (exit ${e.status})`);
  }
  process.stdout.write(`built ${path.relative(process.cwd(), out) || out} for Node ${process.versions.node}\n`);
}

main();
