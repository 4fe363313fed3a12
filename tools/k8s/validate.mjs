#!/usr/bin/env node
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Offline checks of sluice's Kubernetes manifests (no API server here):
//
//   validate.mjs objects RENDERED.yaml
//       every object against the upstream Kubernetes OpenAPI schemas
//       (npm kubernetes-models), plus unknown (misspelt) fields: the upstream
//       schemas allow any extra key, so each object is validated through a
//       Proxy that records which fields the schema's validator looks at; a
//       field it never looked at, and that no Kubernetes type declares
//       anywhere, is misspelt. Maps (labels, data, resources) are enumerated
//       by the validator, so their keys count as known. (A real field name
//       put at the wrong level is caught only where the validator reads that
//       level's fields, which is nearly everywhere but inside a CRD's
//       schema.) The CRD is also checked for structural-schema rules.
//   validate.mjs crs CRD.yaml FILE...
//       custom resources (YAML or JSON; in a ConfigMap, every *.json key is
//       one chain spec) against the CRD's openAPIV3Schema
//       with ajv, strictly: every object schema that lists properties is
//       closed, as the API server's pruning and strict field validation make
//       it (so a misspelt key fails); the CEL rules are not evaluated here.
//   validate.mjs selftest RENDERED.yaml CRD.yaml CR.yaml
//       the checks catch what they should: misspelt keys in a DaemonSet, a
//       ConfigMap and the CRD, a wrong type, and broken custom resources.
//
// Run with NODE_PATH-free resolution from BUILD/k8s (tools/k8s/setup.sh):
// node --experimental-... is not needed; the packages are imported by file
// URL from the directory given in SLUICE_K8S_MODULES.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const modDir = process.env.SLUICE_K8S_MODULES;
if (!modDir) {
	console.error('validate.mjs: set SLUICE_K8S_MODULES to BUILD/k8s/node_modules (tools/k8s/setup.sh)');
	process.exit(2);
}
const req = createRequire(join(modDir, 'x.js'));
const imp = (spec) => import(pathToFileURL(req.resolve(spec)).href).catch(async () => import(spec));
const YAML = (await import(pathToFileURL(join(modDir, 'yaml', 'dist', 'index.js')).href)).default;
const AjvMod = await import(pathToFileURL(join(modDir, 'ajv', 'dist', 'ajv.js')).href);
const Ajv = AjvMod.default.default || AjvMod.default;

function loadDocs(file) {
	const text = readFileSync(file, 'utf8');
	if (file.endsWith('.json'))
		return [JSON.parse(text)];
	const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, strict: true });
	const out = [];
	for (const d of docs) {
		if (d.errors.length)
			throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
		const js = d.toJS();
		if (js !== null && js !== undefined)
			out.push(js);
	}
	return out;
}

async function modelClass(obj) {
	const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
	const path = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
	const m = await import(pathToFileURL(join(modDir, path.replace('kubernetes-models/', 'kubernetes-models/') + '.mjs')).href);
	const cls = m[obj.kind] || m.default;
	if (!cls)
		throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
	return cls;
}

// Records, per object path, the keys the validator read and whether it
// enumerated the object.
function track(value, path, seen) {
	if (value === null || typeof value !== 'object')
		return value;
	let rec = seen.get(path);
	if (!rec) {
		rec = { keys: new Set(), all: false };
		seen.set(path, rec);
	}
	return new Proxy(value, {
		get(t, k, r) {
			const v = Reflect.get(t, k, r);
			if (typeof k !== 'string')
				return v;
			rec.keys.add(k);
			return v !== null && typeof v === 'object' ? track(v, `${path}/${k}`, seen) : v;
		},
		has(t, k) {
			if (typeof k === 'string')
				rec.keys.add(k);
			return Reflect.has(t, k);
		},
		ownKeys(t) {
			rec.all = true;
			return Reflect.ownKeys(t);
		},
	});
}

// Every field name the Kubernetes types declare (their TypeScript
// interfaces): a field the validator never read (its schema there checks
// nothing, e.g. descriptions in a CRD's schema) is still known if some type
// declares it. A misspelt name is in none.
let vocabulary = null;
function fieldNames() {
	if (vocabulary)
		return vocabulary;
	vocabulary = new Set();
	const walk = (dir) => {
		for (const f of readdirSync(dir)) {
			const p = join(dir, f);
			if (statSync(p).isDirectory())
				walk(p);
			else if (f.endsWith('.d.ts'))
				for (const m of readFileSync(p, 'utf8').matchAll(/^\s*"([^"]+)"\??:/gm))
					vocabulary.add(m[1]);
		}
	};
	walk(join(modDir, 'kubernetes-models'));
	walk(join(modDir, '@kubernetes-models', 'apimachinery'));
	return vocabulary;
}

function unknownKeys(value, path, seen, out) {
	if (value === null || typeof value !== 'object')
		return;
	if (Array.isArray(value)) {
		value.forEach((v, i) => unknownKeys(v, `${path}/${i}`, seen, out));
		return;
	}
	const rec = seen.get(path);
	for (const [k, v] of Object.entries(value)) {
		if (rec && !rec.all && !rec.keys.has(k) && !fieldNames().has(k))
			out.push(`${path}/${k}`);
		else
			unknownKeys(v, `${path}/${k}`, seen, out);
	}
}

// Structural-schema rules the API server enforces on a CRD that the
// upstream OpenAPI of CustomResourceDefinition cannot express.
function crdStructural(crd) {
	const errs = [];
	const walk = (s, p) => {
		if (!s || typeof s !== 'object')
			return;
		if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== true)
			errs.push(`${p}: additionalProperties and properties are mutually exclusive`);
		if (!s.type && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields'] && !p.endsWith('/anyOf'))
			errs.push(`${p}: a structural schema needs a type`);
		if ('$schema' in s || 'title' in s && p === '')
			errs.push(`${p}: $schema/title is not allowed here`);
		for (const [k, v] of Object.entries(s.properties || {}))
			walk(v, `${p}/properties/${k}`);
		if (s.items)
			walk(s.items, `${p}/items`);
		for (const a of s.anyOf || []) {
			if (a.properties || a.items)
				errs.push(`${p}/anyOf: may not declare properties or items`);
		}
	};
	for (const v of crd.spec.versions || []) {
		const root = v.schema && v.schema.openAPIV3Schema;
		if (!root) {
			errs.push(`version ${v.name}: no openAPIV3Schema`);
			continue;
		}
		walk(root, '');
		const md = root.properties && root.properties.metadata;
		if (md && Object.keys(md).some((k) => k !== 'type' && k !== 'properties'))
			errs.push('metadata: only type (and name/generateName) may be specified');
	}
	return errs;
}

async function checkObject(obj) {
	const name = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
	const errs = [];
	const cls = await modelClass(obj);
	try {
		new cls(obj).validate();
	} catch (e) {
		errs.push(`schema: ${e.message}`);
	}
	const seen = new Map();
	try {
		cls.prototype.validate.call(track(obj, '', seen));
	} catch (e) {
		/* reported above */
	}
	const unk = [];
	unknownKeys(obj, '', seen, unk);
	for (const u of unk)
		errs.push(`unknown field ${u} (misspelt?)`);
	if (obj.kind === 'CustomResourceDefinition')
		errs.push(...crdStructural(obj));
	return { name, errs };
}

function closed(schema) {
	if (Array.isArray(schema))
		return schema.map(closed);
	if (!schema || typeof schema !== 'object')
		return schema;
	const out = {};
	for (const [k, v] of Object.entries(schema))
		out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([n, s]) => [n, closed(s)])) : closed(v);
	if (out.properties && out.additionalProperties === undefined)
		out.additionalProperties = false;
	return out;
}

function crValidator(crd) {
	const ajv = new Ajv({ allErrors: true, strict: false });
	for (const kw of ['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
		'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
		'x-kubernetes-map-type'])
		ajv.addKeyword({ keyword: kw });
	const v = crd.spec.versions.find((x) => x.storage) || crd.spec.versions[0];
	const schema = closed(v.schema.openAPIV3Schema);
	// metadata is the API server's ObjectMeta: check the name at least.
	schema.properties.metadata = {
		type: 'object', required: ['name'],
		properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 } },
	};
	const fn = ajv.compile(schema);
	return (cr) => {
		const errs = [];
		const want = `${crd.spec.group}/${v.name}`;
		if (cr.apiVersion !== want)
			errs.push(`apiVersion ${cr.apiVersion}, want ${want}`);
		if (cr.kind !== crd.spec.names.kind)
			errs.push(`kind ${cr.kind}, want ${crd.spec.names.kind}`);
		if (!fn(cr))
			for (const e of fn.errors)
				errs.push(`${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? ` "${e.params.additionalProperty}"` : ''}`);
		return errs;
	};
}

function report(label, errs) {
	if (errs.length) {
		console.log(`FAIL ${label}`);
		for (const e of errs)
			console.log(`  ${e}`);
		return 1;
	}
	console.log(`ok   ${label}`);
	return 0;
}

const [cmd, ...args] = process.argv.slice(2);
let failed = 0;
if (cmd === 'objects') {
	const docs = loadDocs(args[0]);
	for (const obj of docs) {
		const { name, errs } = await checkObject(obj);
		failed += report(name, errs);
	}
	console.log(`${docs.length} objects, ${failed} failed`);
} else if (cmd === 'crs') {
	const crd = loadDocs(args[0]).find((o) => o.kind === 'CustomResourceDefinition');
	const check = crValidator(crd);
	let n = 0;
	for (const f of args.slice(1)) {
		for (const doc of loadDocs(f)) {
			// A ConfigMap of chain specs: each *.json key is one.
			const crs = doc.kind === 'ConfigMap'
				? Object.entries(doc.data || {}).filter(([k]) => k.endsWith('.json'))
					.map(([k, v]) => [`ConfigMap/${doc.metadata.name}[${k}]`, JSON.parse(v)])
				: [[`${doc.kind}/${doc.metadata && doc.metadata.name}`, doc]];
			for (const [label, cr] of crs) {
				n++;
				failed += report(`${f}: ${label}`, check(cr));
			}
		}
	}
	console.log(`${n} custom resources, ${failed} failed`);
} else if (cmd === 'selftest') {
	// Each case must be caught; "caught" is what a check reported.
	const docs = loadDocs(args[0]);
	const crd = loadDocs(args[1]).find((o) => o.kind === 'CustomResourceDefinition');
	const cr = loadDocs(args[2])[0];
	const clone = (o) => JSON.parse(JSON.stringify(o));
	const ds = docs.find((o) => o.kind === 'DaemonSet');
	const cm = docs.find((o) => o.kind === 'ConfigMap');
	const rename = (o, from, to) => { o[to] = o[from]; delete o[from]; return o; };
	const objCases = [
		['DaemonSet: hostNetwrok', () => { const o = clone(ds); rename(o.spec.template.spec, 'hostNetwork', 'hostNetwrok'); return o; }, 'hostNetwrok'],
		['DaemonSet: container imagePullPolicyy', () => { const o = clone(ds); rename(o.spec.template.spec.containers[0], 'imagePullPolicy', 'imagePullPolicyy'); return o; }, 'imagePullPolicyy'],
		['DaemonSet: probe httpGet.paht', () => { const o = clone(ds); rename(o.spec.template.spec.containers[0].readinessProbe.httpGet, 'path', 'paht'); return o; }, 'paht'],
		['DaemonSet: volume hostpath', () => { const o = clone(ds); rename(o.spec.template.spec.volumes[0], 'hostPath', 'hostpath'); return o; }, 'hostpath'],
		['DaemonSet: securityContext capabilities.ad', () => { const o = clone(ds); rename(o.spec.template.spec.containers[0].securityContext.capabilities, 'add', 'ad'); return o; }, '/ad'],
		['DaemonSet: minReadySeconds is not a number', () => { const o = clone(ds); o.spec.minReadySeconds = 'ten'; return o; }, 'schema'],
		['ConfigMap: dat', () => rename(clone(cm), 'data', 'dat'), 'dat'],
		['CRD: openAPIV3Schema misspelt', () => { const o = clone(crd); rename(o.spec.versions[0].schema, 'openAPIV3Schema', 'openAPIv3Schema'); return o; }, 'openAPIv3Schema'],
		['CRD: additionalProperties beside properties', () => { const o = clone(crd); o.spec.versions[0].schema.openAPIV3Schema.properties.spec.additionalProperties = false; return o; }, 'mutually exclusive'],
	];
	for (const [label, make, needle] of objCases) {
		const { errs } = await checkObject(make());
		const caught = errs.some((e) => e.includes(needle));
		console.log(`${caught ? 'ok  ' : 'FAIL'} caught: ${label}${caught ? '' : ` (got: ${errs.join('; ') || 'nothing'})`}`);
		failed += !caught;
	}
	const check = crValidator(crd);
	const crCases = [
		['CR: dstPort for dstPorts', (o) => rename(o.spec.functions[0].rules[1], 'dstPorts', 'dstPort'), 'dstPort'],
		['CR: action drop', (o) => { o.spec.functions[0].rules[0].action = 'drop'; }, 'allowed values'],
		['CR: hook xdpp', (o) => { o.spec.attach[0].hook = 'xdpp'; }, 'allowed values'],
		['CR: no functions', (o) => { delete o.spec.functions; }, 'functions'],
		['CR: port 70000', (o) => { o.spec.functions[0].rules[1].dstPorts = [70000]; }, 'dstPorts'],
		['CR: empty dst list', (o) => { o.spec.functions[0].rules[1].dst = []; }, 'dst'],
		['CR: kind', (o) => { o.kind = 'NetworkFunctionChian'; }, 'kind'],
		['CR: metadata name', (o) => { o.metadata.name = 'Edge_1'; }, 'metadata'],
	];
	for (const [label, mut, needle] of crCases) {
		const o = clone(cr);
		mut(o);
		const errs = check(o);
		const caught = errs.some((e) => e.includes(needle));
		console.log(`${caught ? 'ok  ' : 'FAIL'} caught: ${label}${caught ? '' : ` (got: ${errs.join('; ') || 'nothing'})`}`);
		failed += !caught;
	}
	console.log(`${objCases.length + crCases.length} cases, ${failed} not caught`);
} else {
	console.error('usage: validate.mjs objects FILE | crs CRD FILE... | selftest RENDERED CRD CR');
	process.exit(2);
}
process.exit(failed ? 1 : 0);
