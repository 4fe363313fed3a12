#!/usr/bin/env node
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A minimal CRI client (runtime.v1 over gRPC on a unix socket), the calls
// kubelet makes for a pod sandbox, for the sluice-cni containerd test.
//
//   node cri.mjs SOCKET version
//   node cri.mjs SOCKET status                  conditions; exit 1 unless RuntimeReady and NetworkReady
//   node cri.mjs SOCKET wait-ready [SECONDS]    poll status until ready (default 30 s)
//   node cri.mjs SOCKET run NAME NAMESPACE UID [CGROUP_PARENT [LOG_DIR]]   prints the sandbox id
//   node cri.mjs SOCKET inspect ID              {"id","state","ip","pid","netns"} (verbose status)
//   node cri.mjs SOCKET stop ID
//   node cri.mjs SOCKET remove ID
//   node cri.mjs SOCKET create SANDBOX_ID NAME NAMESPACE UID CGROUP_PARENT LOG_DIR CNAME IMAGE CMD [ARG..]
//                                               a container in the sandbox (the sandbox's own
//                                               config again, as kubelet sends it); prints its id;
//                                               its log is LOG_DIR/CNAME.log
//   node cri.mjs SOCKET start CID
//   node cri.mjs SOCKET cstatus CID             {"id","state","exit_code","reason"}
//
// Output is one line of JSON (or the id); errors go to stderr with exit 1.
// The npm packages (@grpc/grpc-js, @grpc/proto-loader) come from
// tools/cni/cri/setup.sh: SLUICE_CRI_MODULES names their node_modules.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.SLUICE_CRI_MODULES || join(here, 'node_modules');
const require = createRequire(join(modules, 'x.js'));
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [sock, cmd, ...args] = process.argv.slice(2);
if (!sock || !cmd) {
	console.error('usage: cri.mjs SOCKET version|status|wait-ready|run|inspect|stop|remove|create|start|cstatus ...');
	process.exit(2);
}

const def = loader.loadSync(join(here, 'runtime.proto'), {
	keepCase: true, longs: Number, enums: Number, defaults: true,
});
const { RuntimeService } = grpc.loadPackageDefinition(def).runtime.v1;
const client = new RuntimeService(`unix:${sock}`, grpc.credentials.createInsecure());

function call(method, req, timeoutS = 60) {
	return new Promise((resolve, reject) => {
		const deadline = new Date(Date.now() + timeoutS * 1000);
		client[method](req, { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
	});
}

function ready(st) {
	const c = Object.fromEntries((st.status?.conditions || []).map((x) => [x.type, x]));
	return { ok: !!(c.RuntimeReady?.status && c.NetworkReady?.status), conditions: c };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The sandbox config: RunPodSandbox's, and again in every CreateContainer.
function sandboxConfig(name, ns, uid, cgroup, logdir) {
	return {
		metadata: { name, namespace: ns, uid, attempt: 0 },
		hostname: name,
		log_directory: logdir || '',
		labels: { app: name },
		linux: {
			cgroup_parent: cgroup || '',
			security_context: { namespace_options: { network: 0, pid: 0, ipc: 0 } },
		},
	};
}

const states = ['created', 'running', 'exited', 'unknown'];

async function main() {
	switch (cmd) {
	case 'version':
		return JSON.stringify(await call('Version', { version: 'v1' }));
	case 'status': {
		const r = ready(await call('Status', { verbose: false }));
		if (!r.ok)
			throw new Error(`not ready: ${JSON.stringify(r.conditions)}`);
		return JSON.stringify(r.conditions);
	}
	case 'wait-ready': {
		const end = Date.now() + Number(args[0] || 30) * 1000;
		let last;
		for (;;) {
			try {
				const r = ready(await call('Status', { verbose: false }, 5));
				if (r.ok)
					return JSON.stringify(r.conditions);
				last = JSON.stringify(r.conditions);
			} catch (e) {
				last = e.message;
			}
			if (Date.now() > end)
				throw new Error(`runtime not ready: ${last}`);
			await sleep(200);
		}
	}
	case 'run': {
		const [name, ns, uid, cgroup, logdir] = args;
		const config = sandboxConfig(name, ns, uid, cgroup, logdir);
		const r = await call('RunPodSandbox', { config, runtime_handler: '' }, 120);
		return r.pod_sandbox_id;
	}
	case 'create': {
		const [sandbox, name, ns, uid, cgroup, logdir, cname, image, cmd0, ...cargs] = args;
		const config = {
			metadata: { name: cname, attempt: 0 },
			image: { image },
			command: [cmd0],
			args: cargs,
			labels: { app: name, container: cname },
			log_path: `${cname}.log`,
		};
		const r = await call('CreateContainer', {
			pod_sandbox_id: sandbox, config,
			sandbox_config: sandboxConfig(name, ns, uid, cgroup, logdir),
		}, 120);
		return r.container_id;
	}
	case 'start':
		await call('StartContainer', { container_id: args[0] }, 120);
		return 'ok';
	case 'cstatus': {
		const r = await call('ContainerStatus', { container_id: args[0], verbose: false });
		return JSON.stringify({
			id: r.status.id,
			state: states[r.status.state] || 'unknown',
			exit_code: r.status.exit_code,
			reason: r.status.reason,
		});
	}
	case 'inspect': {
		const r = await call('PodSandboxStatus', { pod_sandbox_id: args[0], verbose: true });
		let info = {};
		try {
			info = JSON.parse(r.info?.info || '{}');
		} catch { /* not JSON: leave empty */ }
		const nsl = info.runtimeSpec?.linux?.namespaces || [];
		const net = nsl.find((n) => n.type === 'network');
		return JSON.stringify({
			id: r.status.id,
			state: r.status.state === 0 ? 'ready' : 'notready',
			ip: r.status.network?.ip || '',
			pid: info.pid || 0,
			netns: net?.path || '',
		});
	}
	case 'stop':
		await call('StopPodSandbox', { pod_sandbox_id: args[0] }, 120);
		return 'ok';
	case 'remove':
		await call('RemovePodSandbox', { pod_sandbox_id: args[0] }, 120);
		return 'ok';
	default:
		throw new Error(`unknown command ${cmd}`);
	}
}

main().then((out) => {
	console.log(out);
	client.close();
}, (err) => {
	console.error(`cri.mjs ${cmd}: ${err.details || err.message}`);
	client.close();
	process.exit(1);
});
