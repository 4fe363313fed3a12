// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The chain spec: reading, limits, the document's envelope (apiVersion,
 * kind, metadata), attach points and the dispatch of functions to their
 * type's parser (spec_fw.c, ...). docs/spec.md is the reference.
 *
 * Order of work, so hostile input costs little and never reaches cJSON's
 * recursion: size limit (before reading a file whole), one linear scan of
 * the raw text for nesting depth and NUL characters, cJSON, then validation
 * of every field, collecting all errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "spec_int.h"

#define SPEC_API_VERSION "sluice.dev/v1alpha1"
#define SPEC_KIND "NetworkFunctionChain"

const char *const spec_root_keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
const char *const spec_metadata_keys[] = { "name", "namespace", "labels", "annotations", NULL };
const char *const spec_spec_keys[] = { "attach", "functions", NULL };
const char *const spec_attach_keys[] = { "interface", "hook", "mode", NULL };

const struct enum_ent spec_hook_names[] = {
	{ "xdp", SPEC_HOOK_XDP },
	{ "tc-ingress", SPEC_HOOK_TC_INGRESS },
	{ "tc-egress", SPEC_HOOK_TC_EGRESS },
	{ NULL, 0 },
};

const struct enum_ent spec_mode_names[] = {
	{ "native", SPEC_XDP_NATIVE },
	{ "generic", SPEC_XDP_GENERIC },
	{ NULL, 0 },
};

const struct enum_ent spec_action_names[] = {
	{ "allow", SPEC_ACT_ALLOW },
	{ "deny", SPEC_ACT_DENY },
	{ NULL, 0 },
};

/* One entry per network function type; a new type is a new entry. */
const struct spec_fn_ops *const spec_fn_types[] = {
	&spec_fw_ops,
	&spec_ct_ops,
	&spec_lb_ops,
	&spec_nat_ops,
	NULL,
};

static const char *enum_str(const struct enum_ent *tbl, int v)
{
	size_t i;

	if (!v)
		return "none";
	for (i = 0; tbl[i].name; i++)
		if (tbl[i].val == v)
			return tbl[i].name;
	return "unknown";
}

const char *spec_hook_str(enum spec_hook h)
{
	return enum_str(spec_hook_names, (int)h);
}

const char *spec_xdp_mode_str(enum spec_xdp_mode m)
{
	return enum_str(spec_mode_names, (int)m);
}

const char *spec_action_str(enum spec_action a)
{
	return enum_str(spec_action_names, (int)a);
}

const char *spec_fn_type_str(enum spec_fn_type t)
{
	size_t i;

	if (!t)
		return "none";
	for (i = 0; spec_fn_types[i]; i++)
		if (spec_fn_types[i]->type == t)
			return spec_fn_types[i]->name;
	return "unknown";
}

static const struct spec_fn_ops *fn_ops(enum spec_fn_type t)
{
	size_t i;

	for (i = 0; spec_fn_types[i]; i++)
		if (spec_fn_types[i]->type == t)
			return spec_fn_types[i];
	return NULL;
}

const struct spec_function *spec_fn_find(const struct spec *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->nfns; i++)
		if (s->fns[i].name && !strcmp(s->fns[i].name, name))
			return &s->fns[i];
	return NULL;
}

void spec_free(struct spec *s)
{
	const struct spec_fn_ops *ops;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nfns; i++) {
		ops = fn_ops(s->fns[i].type);
		if (ops)
			ops->free(&s->fns[i]);
		free(s->fns[i].name);
	}
	free(s->fns);
	free(s->attach);
	free(s->name);
	free(s->canonical);
	free(s);
}

/* ---- raw text ---------------------------------------------------------- */

static void line_col(const char *buf, size_t pos, size_t *line, size_t *col)
{
	const char *p = buf, *nl;
	size_t l = 1;

	while ((nl = memchr(p, '\n', (size_t)(buf + pos - p)))) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = (size_t)(buf + pos - p) + 1;
}

/* Byte classes for prescan(): outside strings, the bytes that matter;
 * inside, '"', '\\' and control characters (NUL included: the sentinel). */
static unsigned char cls_out[256], cls_str[256];

static void prescan_init(void)
{
	int ch;

	for (ch = 0; ch < 0x20; ch++)
		cls_str[ch] = 1;
	cls_str['"'] = cls_str['\\'] = 1;
	cls_out['"'] = cls_out['['] = cls_out['{'] = cls_out[']'] = cls_out['}'] = 1;
	cls_out[0] = 1;
}

/* Before cJSON sees the text: nesting depth (cJSON recurses once per
 * level), and NUL characters, raw or escaped, which C strings would cut
 * short silently (a name "eth0\u0000x" would validate as "eth0" while the
 * document says otherwise). Also raw control characters inside strings,
 * which JSON forbids and cJSON lets through. buf[len] must be '\0': it
 * stops the table-driven loops (~0.5 ns a byte). Malformed JSON is left
 * to cJSON. */
static bool prescan(struct pctx *c, const char *buf, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0, depth = 0, line, col;
	const char *what;

	pthread_once(&once, prescan_init);
	for (;;) {
		while (!cls_out[b[i]])
			i++;
		switch (b[i]) {
		case '"':
			for (i++;; i++) {
				while (!cls_str[b[i]])
					i++;
				if (b[i] == '"')
					break;
				if (b[i] == '\\') {
					/* byte by byte: the NUL sentinel stops it */
					if (b[i + 1] == 'u' && b[i + 2] == '0' && b[i + 3] == '0' &&
					    b[i + 4] == '0' && b[i + 5] == '0') {
						what = "a string contains NUL (\\u0000)";
						goto bad;
					}
					if (!b[++i]) {
						if (i >= len)
							return true; /* cJSON reports it */
						what = "NUL byte in the document";
						goto bad;
					}
					continue;
				}
				if (i >= len)
					return true; /* unterminated: cJSON reports it */
				what = b[i] ? "a string contains a raw control character (escape it)" :
					      "NUL byte in the document";
				goto bad;
			}
			break;
		case '[':
		case '{':
			if (++depth > SPEC_MAX_DEPTH) {
				line_col(buf, i, &line, &col);
				perr(c, "nesting deeper than %d levels at line %zu, column %zu",
				     SPEC_MAX_DEPTH, line, col);
				return false;
			}
			break;
		case ']':
		case '}':
			if (depth)
				depth--;
			break;
		default: /* NUL */
			if (i >= len)
				return true;
			what = "NUL byte in the document";
			goto bad;
		}
		i++;
	}
bad:
	line_col(buf, i, &line, &col);
	perr(c, "%s at line %zu, column %zu", what, line, col);
	return false;
}

/* ---- metadata, attach ---------------------------------------------------- */

static void parse_string_map(struct pctx *c, const char *key, const cJSON *v)
{
	const cJSON *it;
	size_t m = path_key(c, key);

	if (!cJSON_IsObject(v)) {
		perr(c, "expected an object of strings, got %s", json_type_name(v));
		goto out;
	}
	for (it = v->child; it; it = it->next)
		if (!cJSON_IsString(it))
			perr_at(c, it->string ? it->string : "",
				"expected a string, got %s", json_type_name(it));
out:
	path_pop(c, m);
}

static void parse_metadata(struct pctx *c, const cJSON *md, struct spec *s)
{
	enum { NAME, NAMESPACE, LABELS, ANNOTATIONS };
	const cJSON *v[5];
	const char *str, *why;

	if (!obj_fields(c, md, spec_metadata_keys, v))
		return;
	if (require(c, "name", v[NAME]) && get_string(c, "name", v[NAME], &str)) {
		why = dns_label_why(str);
		if (why)
			perr_at(c, "name", "%s is not a valid name: %s", q(c, str), why);
		else
			s->name = strdup(str);
	}
	if (v[NAMESPACE] && get_string(c, "namespace", v[NAMESPACE], &str) &&
	    (why = dns_label_why(str)))
		perr_at(c, "namespace", "%s is not a valid namespace: %s", q(c, str), why);
	if (v[LABELS])
		parse_string_map(c, "labels", v[LABELS]);
	if (v[ANNOTATIONS])
		parse_string_map(c, "annotations", v[ANNOTATIONS]);
}

/* Linux's dev_valid_name(), and printable ASCII only (what the schema
 * can express in a pattern every engine reads alike). */
static const char *ifname_why(const char *s)
{
	size_t n = strlen(s), i;

	if (!n)
		return "must not be empty";
	if (n >= IF_NAMESIZE)
		return "is longer than 15 bytes";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "must not be \".\" or \"..\"";
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == ':')
			return "must not contain '/' or ':'";
		if (ch <= ' ' || ch >= 0x7f)
			return "must be printable ASCII without whitespace";
	}
	return NULL;
}

static void parse_attach_one(struct pctx *c, const cJSON *obj, struct spec_attach *a)
{
	enum { IFACE, HOOK, MODE };
	const cJSON *v[4];
	const char *str, *why;
	int val;

	if (!obj_fields(c, obj, spec_attach_keys, v))
		return;
	if (require(c, "interface", v[IFACE]) &&
	    get_string(c, "interface", v[IFACE], &str)) {
		why = ifname_why(str);
		if (why)
			perr_at(c, "interface", "%s is not a valid interface name: %s",
				q(c, str), why);
		else
			memcpy(a->ifname, str, strlen(str) + 1);
	}
	if (require(c, "hook", v[HOOK]) &&
	    get_enum(c, "hook", v[HOOK], spec_hook_names, &val))
		a->hook = (enum spec_hook)val;
	if (v[MODE]) {
		if (get_enum(c, "mode", v[MODE], spec_mode_names, &val)) {
			if (a->hook && a->hook != SPEC_HOOK_XDP)
				perr_at(c, "mode",
					"applies only to hook \"xdp\", not \"%s\"; remove it",
					spec_hook_str(a->hook));
			else
				a->mode = (enum spec_xdp_mode)val;
		}
	} else if (a->hook == SPEC_HOOK_XDP) {
		a->mode = SPEC_XDP_NATIVE;
	}
}

static void parse_attach(struct pctx *c, const cJSON *arr, struct spec *s)
{
	const cJSON *it;
	size_t n, i, j, m, m2;

	if (!get_array(c, "attach", arr, 1, SPEC_MAX_ATTACH, &n))
		return;
	s->attach = calloc(n, sizeof(*s->attach));
	if (!s->attach) {
		perr(c, "out of memory");
		return;
	}
	s->nattach = n;
	m = path_key(c, "attach");
	for (i = 0, it = arr->child; it; it = it->next, i++) {
		m2 = path_idx(c, i);
		parse_attach_one(c, it, &s->attach[i]);
		if (s->attach[i].ifname[0] && s->attach[i].hook) {
			for (j = 0; j < i; j++) {
				if (s->attach[j].hook == s->attach[i].hook &&
				    !strcmp(s->attach[j].ifname, s->attach[i].ifname)) {
					perr(c, "interface %s hook \"%s\" is already listed at spec.attach[%zu]",
					     q(c, s->attach[i].ifname),
					     spec_hook_str(s->attach[i].hook), j);
					break;
				}
			}
		}
		path_pop(c, m2);
	}
	path_pop(c, m);
}

/* ---- functions ------------------------------------------------------------ */

static void type_list(char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; spec_fn_types[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s\"%s\"", i ? ", " : "",
					spec_fn_types[i]->name);
}

static void parse_function(struct pctx *c, const cJSON *obj, struct spec_function *fn,
			   const struct spec_function *prev, size_t nprev)
{
	const struct spec_fn_ops *ops = NULL;
	const cJSON *name, *type;
	const char *str, *why;
	char types[128];
	size_t i;

	if (!cJSON_IsObject(obj)) {
		perr(c, "expected an object, got %s", json_type_name(obj));
		return;
	}
	name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	type = cJSON_GetObjectItemCaseSensitive(obj, "type");
	if (require(c, "name", name) && get_string(c, "name", name, &str)) {
		why = dns_label_why(str);
		if (why) {
			perr_at(c, "name", "%s is not a valid name: %s", q(c, str), why);
		} else {
			for (i = 0; i < nprev; i++)
				if (prev[i].name && !strcmp(prev[i].name, str))
					break;
			if (i < nprev)
				perr_at(c, "name", "duplicate function name %s (also spec.functions[%zu])",
					q(c, str), i);
			fn->name = strdup(str);
		}
	}
	if (!require(c, "type", type) || !get_string(c, "type", type, &str))
		return;
	for (i = 0; spec_fn_types[i]; i++)
		if (!strcmp(spec_fn_types[i]->name, str))
			ops = spec_fn_types[i];
	if (!ops) {
		type_list(types, sizeof(types));
		perr_at(c, "type", "unknown function type %s (supported: %s)", q(c, str),
			types);
		return;
	}
	fn->type = ops->type;
	ops->parse(c, obj, fn);
}

static void parse_functions(struct pctx *c, const cJSON *arr, struct spec *s)
{
	const cJSON *it;
	size_t n, i, m, m2;

	if (!get_array(c, "functions", arr, 1, SPEC_MAX_FUNCTIONS, &n))
		return;
	s->fns = calloc(n, sizeof(*s->fns));
	if (!s->fns) {
		perr(c, "out of memory");
		return;
	}
	s->nfns = n;
	m = path_key(c, "functions");
	for (i = 0, it = arr->child; it; it = it->next, i++) {
		m2 = path_idx(c, i);
		parse_function(c, it, &s->fns[i], s->fns, i);
		path_pop(c, m2);
	}
	path_pop(c, m);
	spec_ct_check_chain(c, s);
	spec_lb_check_chain(c, s);
}

/* ---- the document ------------------------------------------------------- */

static void parse_root(struct pctx *c, const cJSON *root, struct spec *s)
{
	enum { API, KIND, META, SPEC };
	const cJSON *v[5], *sv[3];
	const char *str;
	size_t m;

	if (!cJSON_IsObject(root)) {
		perr(c, "the document must be a JSON object, got %s", json_type_name(root));
		return;
	}
	obj_fields(c, root, spec_root_keys, v);
	if (require(c, "apiVersion", v[API]) &&
	    get_string(c, "apiVersion", v[API], &str) && strcmp(str, SPEC_API_VERSION))
		perr_at(c, "apiVersion", "%s is not supported: expected \"%s\"", q(c, str),
			SPEC_API_VERSION);
	if (require(c, "kind", v[KIND]) && get_string(c, "kind", v[KIND], &str) &&
	    strcmp(str, SPEC_KIND))
		perr_at(c, "kind", "%s is not supported: expected \"%s\"", q(c, str),
			SPEC_KIND);
	if (require(c, "metadata", v[META])) {
		m = path_key(c, "metadata");
		parse_metadata(c, v[META], s);
		path_pop(c, m);
	}
	if (!require(c, "spec", v[SPEC]))
		return;
	m = path_key(c, "spec");
	if (obj_fields(c, v[SPEC], spec_spec_keys, sv)) {
		if (require(c, "attach", sv[0]))
			parse_attach(c, sv[0], s);
		if (require(c, "functions", sv[1]))
			parse_functions(c, sv[1], s);
	}
	path_pop(c, m);
}

static int hash_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* buf[len] must be '\0'. */
static int parse_nt(const char *buf, size_t len, struct spec **out, struct sl_errs *errs)
{
	struct sl_errs local = { 0 };
	struct pctx *c;
	struct spec *s = NULL;
	const char *end = NULL;
	cJSON *root = NULL;
	size_t line, col, clen = 0;
	int err = -EINVAL;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->errs = errs ? errs : &local;
	if (len > SPEC_MAX_FILE_BYTES) {
		perr(c, "the document is %zu bytes, more than the limit of %u (%u MiB)",
		     len, SPEC_MAX_FILE_BYTES, SPEC_MAX_FILE_BYTES >> 20);
		err = -EFBIG;
		goto out;
	}
	if (!len || strspn(buf, " \t\r\n") == len) {
		perr(c, "the document is empty");
		goto out;
	}
	if (!prescan(c, buf, len))
		goto out;
	root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
	if (!root) {
		size_t pos = end && end >= buf ? (size_t)(end - buf) : 0;
		char near[24];

		if (pos > len)
			pos = len;
		line_col(buf, pos, &line, &col);
		snprintf(near, sizeof(near), "%s", buf + pos);
		/* A complete value followed by more text? */
		root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 0);
		if (root) {
			pos = (size_t)(end - buf);
			pos += strspn(buf + pos, " \t\r\n");
			line_col(buf, pos, &line, &col);
			snprintf(near, sizeof(near), "%s", buf + pos);
			perr(c, "invalid JSON: unexpected text after the document at line %zu, column %zu (near %s)",
			     line, col, q(c, near));
			cJSON_Delete(root);
			root = NULL;
		} else if (pos + 1 >= len) {
			perr(c, "invalid JSON: the document ends early (truncated?) at line %zu, column %zu",
			     line, col);
		} else {
			perr(c, "invalid JSON at line %zu, column %zu (near %s)", line, col,
			     q(c, near));
		}
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	parse_root(c, root, s);
	if (c->nerr)
		goto out;
	s->canonical = spec_canonical(root, len, &clen);
	if (!s->canonical) {
		err = -ENOMEM;
		goto out;
	}
	err = hash_hex(s->canonical, clen, s->sha256);
	if (err)
		goto out;
	*out = s;
	s = NULL;
out:
	spec_free(s);
	cJSON_Delete(root);
	errs_free(&local);
	free(c);
	return err;
}

int spec_parse(const char *buf, size_t len, struct spec **out, struct sl_errs *errs)
{
	char *copy;
	int err;

	if (len > SPEC_MAX_FILE_BYTES)
		return parse_nt("", len, out, errs);
	/* cJSON wants the terminating NUL to reject trailing garbage. */
	copy = malloc(len + 1);
	if (!copy) {
		*out = NULL;
		return -ENOMEM;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	err = parse_nt(copy, len, out, errs);
	free(copy);
	return err;
}

int spec_load_file(const char *path, struct spec **out, struct sl_errs *errs)
{
	size_t cap, len = 0;
	struct stat st;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		goto fail_io;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail_io;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto fail_io;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > SPEC_MAX_FILE_BYTES) {
		if (errs)
			errs_add(errs, "", "%s is %lld bytes, more than the limit of %u (%u MiB)",
				 path, (long long)st.st_size, SPEC_MAX_FILE_BYTES,
				 SPEC_MAX_FILE_BYTES >> 20);
		close(fd);
		return -EFBIG;
	}
	/* Regular files: their size (+1 to see growth); others (a pipe,
	 * /dev/stdin): grow, but never past the limit + 1. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap + 1);
	if (!buf) {
		err = -ENOMEM;
		goto fail_io;
	}
	for (;;) {
		if (len == cap) {
			if (cap > SPEC_MAX_FILE_BYTES)
				break;
			cap = cap * 2 > (size_t)SPEC_MAX_FILE_BYTES + 1 ?
				      (size_t)SPEC_MAX_FILE_BYTES + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				goto fail_io;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail_io;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	fd = -1;
	if (len > SPEC_MAX_FILE_BYTES) {
		if (errs)
			errs_add(errs, "", "%s is more than %u bytes (%u MiB), the limit",
				 path, SPEC_MAX_FILE_BYTES, SPEC_MAX_FILE_BYTES >> 20);
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	err = parse_nt(buf, len, out, errs);
	free(buf);
	return err;

fail_io:
	if (errs)
		errs_add(errs, "", "cannot read %s: %s", path, strerror(-err));
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}
