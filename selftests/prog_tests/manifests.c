// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* manifests/ without a cluster (no API server runs here, so no
 * `kubectl apply --dry-run=server`):
 *  render        `kubectl kustomize manifests` renders the 8 objects, the
 *                namespaced ones in sluice-system, the image set
 *  schemas       every rendered object validates against the upstream
 *                Kubernetes schemas (npm kubernetes-models), with no unknown
 *                (misspelt) field; the CRD is structural
 *                (tools/k8s/validate.mjs objects)
 *  crs           the example custom resources, examples/ (JSON) and the
 *                ConfigMap's chain specs validate against the CRD schema
 *                with ajv, closed as the API server's pruning makes it
 *  checks_bite   the checks catch what they must: misspelt keys in a
 *                DaemonSet, a ConfigMap and the CRD, a wrong type,
 *                additionalProperties beside properties, broken custom
 *                resources (validate.mjs selftest)
 *  crd_in_sync   manifests/crd.yaml is what tools/k8s/gen-crd.mjs makes of
 *                docs/spec.schema.json today
 *  yamllint      the manifests pass yamllint (tools/k8s/yamllint.yaml)
 *  specs_apply   the ConfigMap's chain spec and the example custom resource
 *                pass `sluice apply --dry-run` (sluice's full validation,
 *                compile and the verifier) on a node with an eth0
 *  containerfile the image's runtime packages are exactly those holding the
 *                libraries build/sluiced, build/sluice and build/sluice-cni
 *                link, and the image carries the plugin where the init
 *                container looks for it
 *  install_cni   the init container's script installs nothing without the
 *                plugin and, with one, the binary (0755) and the
 *                conflist (0644)
 * The npm packages come from tools/k8s/setup.sh, cached under build/.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

static char out[1 << 16];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return netns_run_out(NULL, out, sizeof(out), "cd %s && { %s; } 2>&1", env.src_dir, cmd);
}

static void show_on_fail(int ret)
{
	if (ret)
		printf("%s\n", out);
}

void test_manifests(void)
{
	char tmp[PATH_MAX], rendered[PATH_MAX + 32], mods[PATH_MAX + 32];
	const char *b = env.build_dir;
	bool have_node = netns_have_tool("node") && netns_have_tool("npm");
	bool npm_ok = false;
	int ret;

	if (!ASSERT_OK(netns_tmpdir(tmp, sizeof(tmp)), "tmpdir"))
		return;
	snprintf(rendered, sizeof(rendered), "%s/rendered.yaml", tmp);
	snprintf(mods, sizeof(mods), "%s/k8s/node_modules", b);

	/* Render first: the other subtests read its output. */
	if (netns_have_tool("kubectl"))
		ret = sh("kubectl kustomize manifests > %s", rendered);
	else /* no kubectl: the listed resources as they are */
		ret = sh("for f in $(sed -n 's/^  - \\(.*\\.yaml\\)$/\\1/p' manifests/kustomization.yaml); do "
			 "echo ---; cat manifests/$f; done > %s", rendered);
	if (test__start_subtest("render")) {
		if (!netns_have_tool("kubectl"))
			printf("    kubectl missing: the resources are checked unrendered\n");
		show_on_fail(ret);
		ASSERT_OK(ret, "kubectl kustomize manifests");
		ASSERT_OK(sh("test $(grep -c '^kind:' %s) -eq 8", rendered), "8 objects");
		ASSERT_OK(sh("grep -q '^  namespace: sluice-system' %s && "
			     "test $(grep -c '^  namespace: sluice-system' %s) -eq 4", rendered, rendered),
			  "4 namespaced objects in sluice-system");
		ASSERT_OK(sh("grep -q 'image: sluice/sluiced:0.1.0' %s", rendered), "image set");
	}

	if (have_node) {
		ret = sh("tools/k8s/setup.sh %s", b);
		show_on_fail(ret);
		npm_ok = !ret;
	}
	if (test__start_subtest("schemas")) {
		if (!have_node) {
			test__skip("node/npm missing: kubernetes-models and ajv cannot run");
		} else if (ASSERT_TRUE(npm_ok, "npm packages (tools/k8s/setup.sh)")) {
			ret = sh("SLUICE_K8S_MODULES=%s node tools/k8s/validate.mjs objects %s", mods, rendered);
			show_on_fail(ret);
			ASSERT_OK(ret, "every object valid, no unknown field");
			ASSERT_STRCONTAINS(out, "8 objects, 0 failed", "8 objects checked");
		}
	}
	if (test__start_subtest("crs") && npm_ok) {
		ret = sh("SLUICE_K8S_MODULES=%s node tools/k8s/validate.mjs crs manifests/crd.yaml "
			 "manifests/examples/*.yaml $(ls examples/*.json | grep -v '[.]cases[.]json$') "
			 "manifests/configmap.yaml", mods);
		show_on_fail(ret);
		ASSERT_OK(ret, "custom resources valid against the CRD");
		ASSERT_STRCONTAINS(out, "ok   manifests/configmap.yaml: ConfigMap/sluice-chains[node.json]",
				   "the ConfigMap's spec checked");
		ASSERT_STRCONTAINS(out, "ok   manifests/examples/edge-chain.yaml", "the example CR checked");
	}
	if (test__start_subtest("checks_bite") && npm_ok) {
		ret = sh("SLUICE_K8S_MODULES=%s node tools/k8s/validate.mjs selftest %s manifests/crd.yaml "
			 "manifests/examples/edge-chain.yaml", mods, rendered);
		show_on_fail(ret);
		ASSERT_OK(ret, "every broken case caught");
		ASSERT_STRCONTAINS(out, "17 cases, 0 not caught", "17 cases");
	}
	if (test__start_subtest("crd_in_sync")) {
		if (!have_node) {
			test__skip("node missing");
		} else {
			ret = sh("node tools/k8s/gen-crd.mjs > %s/crd.yaml && diff -u manifests/crd.yaml %s/crd.yaml",
				 tmp, tmp);
			show_on_fail(ret);
			if (ret)
				printf("    docs/spec.schema.json changed: regenerate the CRD with\n"
				       "    node tools/k8s/gen-crd.mjs > manifests/crd.yaml\n");
			ASSERT_OK(ret, "manifests/crd.yaml == gen-crd.mjs(docs/spec.schema.json)");
		}
	}
	if (test__start_subtest("yamllint")) {
		if (!netns_have_tool("yamllint")) {
			test__skip("yamllint missing (tools/install-deps.sh installs it)");
		} else {
			ret = sh("yamllint -s -c tools/k8s/yamllint.yaml manifests/");
			show_on_fail(ret);
			ASSERT_OK(ret, "yamllint");
		}
	}
	if (test__start_subtest("specs_apply")) {
		char ns[NETNS_NAME_MAX], pin[PATH_MAX];

		if (ASSERT_OK(netns_create("nodeeth0", ns), "netns") &&
		    ASSERT_OK(netns_veth(ns, "eth0", ns, "eth0peer"), "eth0") &&
		    ASSERT_OK(netns_pin_root(pin, sizeof(pin)), "pin root")) {
			/* The ConfigMap's spec, as the kubelet would write it. */
			ret = sh("awk '/^  node.json: \\|$/{on=1;next} on&&/^    /{sub(/^    /,\"\");print;next} on{exit}' "
				 "manifests/configmap.yaml > %s/node.json", tmp);
			ASSERT_OK(ret, "extract node.json");
			ret = netns_run_out(ns, out, sizeof(out),
					    "%s/sluice --pin-root %s --state-dir %s/state apply --dry-run -f %s/node.json 2>&1",
					    b, pin, tmp, tmp);
			show_on_fail(ret);
			ASSERT_OK(ret, "sluice apply --dry-run of the ConfigMap's spec");
			if (npm_ok) {
				ret = sh("cd %s/k8s && node -e 'const Y=require(\"yaml\");"
					 "process.stdout.write(JSON.stringify(Y.parse(require(\"fs\").readFileSync(process.argv[1],\"utf8\"))))' "
					 "%s/manifests/examples/edge-chain.yaml > %s/cr.json", b, env.src_dir, tmp);
				ASSERT_OK(ret, "example CR as JSON");
				ret = netns_run_out(ns, out, sizeof(out),
						    "%s/sluice --pin-root %s --state-dir %s/state apply --dry-run -f %s/cr.json 2>&1",
						    b, pin, tmp, tmp);
				show_on_fail(ret);
				ASSERT_OK(ret, "sluice apply --dry-run of the example CR");
			}
		}
	}
	if (test__start_subtest("containerfile")) {
		/* Packages of the libraries the binaries link (NEEDED, resolved by
		 * ldd), less libc6 (in the base image) == the runtime list. */
		ret = sh("for bin in %s/sluiced %s/sluice %s/sluice-cni; do "
			 "  for l in $(readelf -d $bin | sed -n 's/.*Shared library: \\[\\(.*\\)\\]/\\1/p'); do "
			 "    p=$(ldd $bin | awk -v l=$l '$1==l{print $3}'); dpkg -S \"$(readlink -f $p)\" | cut -d: -f1; "
			 "  done; done | sort -u | grep -vx libc6 > %s/need; "
			 "awk '/^FROM debian:12-slim/{rt=1} rt&&/apt-get install/{on=1} on{print} on&&!/\\\\$/{on=0}' Containerfile "
			 "| tr ' ' '\\n' | grep -E '^lib[a-z0-9.+-]+$' | sort -u > %s/have; "
			 "echo need: $(cat %s/need); echo have: $(cat %s/have); diff %s/need %s/have",
			 b, b, b, tmp, tmp, tmp, tmp, tmp, tmp);
		printf("%s", env.verbose ? out : "");
		show_on_fail(ret);
		ASSERT_OK(ret, "runtime packages == linked libraries' packages");
		ret = sh("grep -qx 'RUN make O=/out .*/out/sluice-cni.*' Containerfile && "
			 "grep -qx 'COPY --from=build /out/sluice-cni /usr/lib/sluice/cni/sluice-cni' Containerfile && "
			 "grep -q 'PLUGIN:-/usr/lib/sluice/cni/sluice-cni' tools/k8s/install-cni.sh");
		show_on_fail(ret);
		ASSERT_OK(ret, "the image builds sluice-cni and carries it where install-cni.sh looks");
	}
	if (test__start_subtest("install_cni")) {
		char d[PATH_MAX + 64];
		struct stat st;

		snprintf(d, sizeof(d), "%s/cni", tmp);
		ret = sh("mkdir -p %s/src && cp manifests/cni-configmap.yaml %s/ && "
			 "printf '{\"cniVersion\":\"1.0.0\"}' > %s/src/10-sluice.conflist && "
			 "CNI_BIN_DIR=%s/bin CNI_NET_DIR=%s/net CNI_CONF_SRC=%s/src PLUGIN=%s/none "
			 "tools/k8s/install-cni.sh && test ! -e %s/bin/sluice-cni && test ! -e %s/net/10-sluice.conflist",
			 d, d, d, d, d, d, d, d, d);
		show_on_fail(ret);
		ASSERT_OK(ret, "no plugin: nothing installed, exit 0");
		ASSERT_STRCONTAINS(out, "not in this image", "says why");
		ret = sh("cp /bin/true %s/plugin && CNI_BIN_DIR=%s/bin CNI_NET_DIR=%s/net CNI_CONF_SRC=%s/src "
			 "PLUGIN=%s/plugin tools/k8s/install-cni.sh", d, d, d, d, d);
		show_on_fail(ret);
		ASSERT_OK(ret, "with a plugin: exit 0");
		snprintf(rendered, sizeof(rendered), "%s/bin/sluice-cni", d);
		ASSERT_TRUE(!stat(rendered, &st) && (st.st_mode & 0777) == 0755, "binary 0755");
		snprintf(rendered, sizeof(rendered), "%s/net/10-sluice.conflist", d);
		ASSERT_TRUE(!stat(rendered, &st) && (st.st_mode & 0777) == 0644, "conflist 0644");
	}
	netns_cleanup_all();
}
