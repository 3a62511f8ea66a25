// Checks that every relative link in the markdown the package ships resolves
// to a file the package ships too, so README.md and the guides work for a
// reader of the installed package (node_modules/rx-barrier) as well as on the
// repository page. Lists every broken link and exits 1 if there is one.
//
// The file list is npm's own (`npm pack --dry-run --json`), so it follows the
// `files` field of package.json and npm's always-included files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const [pack] = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
);
const packed = new Set(pack.files.map((file) => file.path));

/** Link targets of a markdown text, outside code: `[text](target)`, `![alt](target)`, `<img src="target">`. */
function linkTargets(markdown) {
  const prose = markdown.replace(/^(```|~~~)[^]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [];
  for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]);
  for (const match of prose.matchAll(/<img\s[^>]*src="([^"]+)"/g)) targets.push(match[1]);
  return targets;
}

const broken = [];
for (const file of [...packed].filter((path) => path.endsWith('.md')).sort()) {
  for (const target of linkTargets(readFileSync(resolve(root, file), 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // https:, mailto:, an anchor
    const path = posix.normalize(posix.join(dirname(file), decodeURI(target.replace(/[#?].*$/, ''))));
    const isDirectory = [...packed].some((packedPath) => packedPath.startsWith(`${path.replace(/\/$/, '')}/`));
    if (packed.has(path)) continue;
    broken.push(`${file}: ${target} ${isDirectory ? 'is a directory (link a file in it: a package page renders no directory listing)' : 'is not in the package'}`);
  }
}

if (broken.length > 0) {
  process.stderr.write(`check-package-links: ${broken.length} relative link(s) that a reader of the packed package cannot follow:\n  ${broken.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`check-package-links: every relative link in the ${[...packed].filter((path) => path.endsWith('.md')).length} packed markdown files resolves in the package\n`);
