'use strict';
// prepack: copies the repo's protos/ into the package, so an installed
// cachecar finds cachecar/v1/*.proto next to its code (package.json "files").
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', '..', '..', 'protos', 'cachecar');
const target = path.join(__dirname, '..', 'protos', 'cachecar');
fs.rmSync(target, { recursive: true, force: true });
fs.cpSync(source, target, { recursive: true, filter: (p) => !p.endsWith('.yaml') });
console.log(`cachecar: copied ${source} -> ${target}`);
