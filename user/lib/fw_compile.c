// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall compiler: a validated spec_firewall in, the map images of
 * bpf/shared/fw.h out (docs/firewall.md).
 *
 *   1. check what the compiler relies on (the spec parser checks it first);
 *   2. per family, expand every rule into atoms: one src prefix x one dst
 *      prefix x one source port range x one destination port range. Covered
 *      prefixes and overlapping ranges within a rule are merged first, so a
 *      rule's atoms never overlap. Nothing after an atom that matches every
 *      packet (non-audit, all "any") can ever decide: expansion stops there;
 *   3. address classes and their candidate lists (fw_classes.c,
 *      fw_buckets.c), port classes and lists;
 *   4. the worst-case scan against FW_MAX_SCAN; the lookup order;
 *   5. the address tables: roots, nodes and tails (fw_lpm.c).
 * Every cap is checked before the memory behind it is allocated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "fw_internal.h"

#define PATH_LEN 256

static const char *fam_name(int family)
{
	return family == 4 ? "IPv4" : "IPv6";
}

static const char *idx_name(int idx)
{
	static const char *const names[] = { "source address", "destination address",
					     "destination port" };
	return names[idx];
}

/* ---- 1. what the compiler relies on ---- */

static bool proto_has_ports(int p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
}

static bool proto_is_icmp(int p)
{
	return p == IPPROTO_ICMP || p == IPPROTO_ICMPV6;
}

/* Paths are made only for an error: formatting one per rule and per
 * prefix costs more than the checks. */
#define RULE_ERR(errs, path, i, key, ...)                                      \
	do {                                                                   \
		char p_[PATH_LEN];                                             \
		snprintf(p_, sizeof(p_), "%s.rules[%zu]%s%s", path, i,         \
			 *(key) ? "." : "", key);                              \
		errs_add(errs, p_, __VA_ARGS__);                               \
	} while (0)

static void check_prefixes(const struct spec_prefix *v, size_t n, const char *path,
			   size_t ri, const char *key, struct sl_errs *errs)
{
	char k[32];
	size_t j;
	int i;

	for (j = 0; j < n; j++) {
		const struct spec_prefix *p = &v[j];
		unsigned max = p->family == 4 ? 32 : 128;
		bool host = false;

		if (p->family != 4 && p->family != 6) {
			snprintf(k, sizeof(k), "%s[%zu]", key, j);
			RULE_ERR(errs, path, ri, k, "address family %u is neither 4 nor 6", p->family);
			continue;
		}
		if (p->plen > max) {
			snprintf(k, sizeof(k), "%s[%zu]", key, j);
			RULE_ERR(errs, path, ri, k, "prefix length %u is over %u", p->plen, max);
			continue;
		}
		for (i = 0; i < (p->family == 4 ? 1 : 4); i++) {
			int bits = (int)p->plen - 32 * i;
			uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

			host |= (ntohl(p->addr[i]) & ~m) != 0;
		}
		if (p->family == 4)
			host |= p->addr[1] || p->addr[2] || p->addr[3];
		if (host) {
			snprintf(k, sizeof(k), "%s[%zu]", key, j);
			RULE_ERR(errs, path, ri, k, "host bits are set below the prefix length %u",
				 p->plen);
		}
	}
}

static void check_ports(const struct spec_port_range *v, size_t n, const char *path,
			size_t ri, const char *key, struct sl_errs *errs)
{
	char k[32];
	size_t j;

	for (j = 0; j < n; j++) {
		if (v[j].lo > v[j].hi) {
			snprintf(k, sizeof(k), "%s[%zu]", key, j);
			RULE_ERR(errs, path, ri, k, "range %u-%u is empty", v[j].lo, v[j].hi);
		}
	}
}

static void check_rules(const struct spec_firewall *fw, const char *path,
			struct sl_errs *errs)
{
	char p[PATH_LEN];
	size_t i;

	if (fw->default_action != SPEC_ACT_ALLOW && fw->default_action != SPEC_ACT_DENY) {
		snprintf(p, sizeof(p), "%s.defaultAction", path);
		errs_add(errs, p, "must be allow or deny");
	}
	if (fw->nrules > SPEC_MAX_RULES) {
		snprintf(p, sizeof(p), "%s.rules", path);
		errs_add(errs, p, "%zu rules, over the limit of %u", fw->nrules, SPEC_MAX_RULES);
		return;
	}
	for (i = 0; i < fw->nrules; i++) {
		const struct spec_fw_rule *r = &fw->rules[i];

		if (r->id && strlen(r->id) > SPEC_MAX_RULE_ID_LEN)
			RULE_ERR(errs, path, i, "id", "longer than %u characters", SPEC_MAX_RULE_ID_LEN);
		if (r->action != SPEC_ACT_ALLOW && r->action != SPEC_ACT_DENY)
			RULE_ERR(errs, path, i, "action", "must be allow or deny");
		if (r->proto < -1 || r->proto > 255)
			RULE_ERR(errs, path, i, "proto", "%d is not a protocol number (0-255)", r->proto);
		check_prefixes(r->src, r->nsrc, path, i, "src", errs);
		check_prefixes(r->dst, r->ndst, path, i, "dst", errs);
		check_ports(r->sports, r->nsports, path, i, "srcPorts", errs);
		check_ports(r->dports, r->ndports, path, i, "dstPorts", errs);
		if ((r->nsports || r->ndports) && !proto_has_ports(r->proto))
			RULE_ERR(errs, path, i, r->nsports ? "srcPorts" : "dstPorts",
				 "ports need proto tcp, udp or sctp");
		if (r->icmp_type < -1 || r->icmp_type > 255)
			RULE_ERR(errs, path, i, "icmpType", "%d is not an ICMP type (0-255)", r->icmp_type);
		else if (r->icmp_type >= 0 && !proto_is_icmp(r->proto))
			RULE_ERR(errs, path, i, "icmpType", "needs proto icmp or icmpv6");
		if (r->icmp_code < -1 || r->icmp_code > 255)
			RULE_ERR(errs, path, i, "icmpCode", "%d is not an ICMP code (0-255)", r->icmp_code);
		else if (r->icmp_code >= 0 && r->icmp_type < 0)
			RULE_ERR(errs, path, i, "icmpCode", "needs icmpType");
	}
}

/* ---- 2. expansion into atoms ---- */

static inline bool pfx_less(const struct fw_pfx *a, const struct fw_pfx *b)
{
	return fw_pfx_cmp(a, b) < 0;
}

FW_DEFINE_SORT(pfx_sort, struct fw_pfx, pfx_less)

static inline bool range_less(const struct spec_port_range *a,
			      const struct spec_port_range *b)
{
	return a->lo < b->lo || (a->lo == b->lo && a->hi < b->hi);
}

FW_DEFINE_SORT(range_sort, struct spec_port_range, range_less)

static fw_u128 addr_of(const struct spec_prefix *p)
{
	fw_u128 a = 0;
	int i;

	for (i = 0; i < 4; i++)
		a = a << 32 | ntohl(p->addr[i]);
	return a;
}

/* Scratch buffers for one rule. */
struct rule_buf {
	struct fw_pfx *pfx[2];
	size_t cap[2];
	struct spec_port_range *rng[2];
	size_t rcap[2];
};

/* The rule's prefixes of the family, covered ones dropped. Returns the
 * count; 0 with *any for "any" (no list, or a /0 in it); 0 without *any when
 * the list holds no prefix of the family: the rule cannot match it. */
static int norm_pfx(const struct spec_prefix *in, size_t n, int family,
		    struct fw_pfx **buf, size_t *cap, size_t *out, bool *any)
{
	struct fw_pfx *v;
	size_t i, k = 0;

	*any = !n;
	*out = 0;
	if (!n)
		return 0;
	if (fw_grow((void **)buf, cap, 0, n, sizeof(**buf)))
		return -ENOMEM;
	v = *buf;
	for (i = 0; i < n; i++) {
		if (in[i].family != family)
			continue;
		if (!in[i].plen) {
			*any = true;
			return 0;
		}
		v[k].addr = family == 4 ? (fw_u128)ntohl(in[i].addr[0]) << 96 : addr_of(&in[i]);
		v[k].plen = in[i].plen;
		k++;
	}
	pfx_sort(v, k);
	/* In preorder, a covered prefix follows the kept one covering it. */
	for (i = 0, n = 0; i < k; i++)
		if (!n || !fw_pfx_covers(&v[n - 1], v[i].addr))
			v[n++] = v[i];
	*out = n;
	return 0;
}

/* Sorted, merged (overlapping or adjacent) ranges; "any" as one 0-65535. */
static int norm_ports(const struct spec_port_range *in, size_t n, int icmp,
		      struct spec_port_range **buf, size_t *cap, size_t *out)
{
	struct spec_port_range *v;
	size_t i, k = 0;

	if (fw_grow((void **)buf, cap, 0, n ? n : 1, sizeof(**buf)))
		return -ENOMEM;
	v = *buf;
	if (icmp >= 0) {
		v[0].lo = v[0].hi = (uint16_t)icmp;
		*out = 1;
		return 0;
	}
	if (!n) {
		v[0].lo = 0;
		v[0].hi = 65535;
		*out = 1;
		return 0;
	}
	memcpy(v, in, n * sizeof(*v));
	range_sort(v, n);
	for (i = 0; i < n; i++) {
		if (k && (uint32_t)v[i].lo <= (uint32_t)v[k - 1].hi + 1) {
			if (v[i].hi > v[k - 1].hi)
				v[k - 1].hi = v[i].hi;
		} else {
			v[k++] = v[i];
		}
	}
	*out = k;
	return 0;
}

static int expand(const struct spec_firewall *fw, const char *path,
		  struct fw_fam *fam, struct rule_buf *rb, struct sl_errs *errs)
{
	size_t i, ns, nd, nsp, ndp, a, b, c, d, count;
	struct fw_pfx anyp = { 0, 0 };
	bool sany, dany;
	char rp[PATH_LEN];
	int err;

	for (i = 0; i < fw->nrules; i++) {
		const struct spec_fw_rule *r = &fw->rules[i];
		const struct fw_pfx *S, *D;
		bool l4 = r->nsports || r->ndports || r->icmp_type >= 0;
		uint8_t flags = (l4 ? FW_ATOM_L4 : 0) | (r->audit ? FW_ATOM_AUDIT : 0) |
				(r->proto >= 0 ? FW_ATOM_PROTO : 0) |
				(r->states ? FW_ATOM_STATE : 0);

		err = norm_pfx(r->src, r->nsrc, fam->family, &rb->pfx[0], &rb->cap[0], &ns, &sany);
		if (!err)
			err = norm_pfx(r->dst, r->ndst, fam->family, &rb->pfx[1], &rb->cap[1], &nd, &dany);
		if (!err)
			err = norm_ports(r->sports, r->nsports, r->icmp_code, &rb->rng[0],
					 &rb->rcap[0], &nsp);
		if (!err)
			err = norm_ports(r->dports, r->ndports, r->icmp_type, &rb->rng[1],
					 &rb->rcap[1], &ndp);
		if (err)
			return err;
		if ((!ns && !sany) || (!nd && !dany))
			continue; /* no prefix of this family in src or dst */
		S = sany ? &anyp : rb->pfx[0];
		D = dany ? &anyp : rb->pfx[1];
		ns = sany ? 1 : ns;
		nd = dany ? 1 : nd;
		count = ns * nd * nsp * ndp;
		if (fam->n + count > FW_MAX_ATOMS) {
			snprintf(rp, sizeof(rp), "%s.rules[%zu]", path, i);
			errs_add(errs, rp,
				 "rules[0..%zu] expand to %zu %s atoms (src prefixes x dst prefixes x srcPorts ranges x dstPorts ranges, per rule), over the limit of %u",
				 i, fam->n + count, fam_name(fam->family), FW_MAX_ATOMS);
			return -EINVAL;
		}
		if (fw_grow((void **)&fam->atoms, &fam->cap, fam->n, count, sizeof(*fam->atoms)))
			return -ENOMEM;
		for (a = 0; a < ns; a++)
			for (b = 0; b < nd; b++)
				for (c = 0; c < nsp; c++)
					for (d = 0; d < ndp; d++) {
						struct fw_catom *t = &fam->atoms[fam->n++];

						t->pfx[0] = S[a];
						t->pfx[1] = D[b];
						t->slo = rb->rng[0][c].lo;
						t->shi = rb->rng[0][c].hi;
						t->dlo = rb->rng[1][d].lo;
						t->dhi = rb->rng[1][d].hi;
						t->rule = (uint32_t)i;
						t->proto = r->proto >= 0 ? (uint8_t)r->proto : 0;
						t->flags = flags;
						t->states = r->states;
					}
		if (sany && dany && !flags)
			break; /* matches every packet of the family: the rest is dead */
	}
	return 0;
}

/* ---- 3. which address indexes to build ---- */


/* From the exact list sizes: an index over the cap is not built, nor one
 * that can never give the shortest list (its shortest list is no shorter
 * than every list of the other index, or than all atoms). */
static void choose_addr(struct fw_fam *fam)
{
	struct fw_lists *s = &fam->idx[FW_IDX_SRC], *d = &fam->idx[FW_IDX_DST];
	int i;

	for (i = FW_IDX_SRC; i <= FW_IDX_DST; i++) {
		struct fw_lists *l = &fam->idx[i];

		if (!l->cut)
			continue; /* no prefix in the field */
		if (l->total > FW_MAX_CAND_INDEX)
			fw_lists_drop(l, "its candidate lists would exceed " FW_STR(FW_MAX_CAND_INDEX) " entries");
		else if (l->min >= fam->n)
			fw_lists_drop(l, "every class holds every atom");
	}
	if (s->cut && d->cut) {
		if (s->min >= d->max)
			fw_lists_drop(s, "its lists are never shorter than the destination index's");
		else if (d->min >= s->max)
			fw_lists_drop(d, "its lists are never shorter than the source index's");
	}
}

/* The worst scan of a packet without ports: the shortest of its address
 * lists, at worst the longest list of the better index, or every atom. */
static size_t addr_bound(const struct fw_fam *fam)
{
	size_t bound = fam->n;
	int i;

	for (i = FW_IDX_SRC; i <= FW_IDX_DST; i++)
		if (fam->idx[i].indexed && fam->idx[i].max < bound)
			bound = fam->idx[i].max;
	return bound;
}

/* ---- 4. scan bound and lookup order ---- */

static int plan(struct fw_fam *fam, const char *path, struct sl_errs *errs)
{
	size_t bound = addr_bound(fam);
	char p[PATH_LEN], detail[512];
	size_t dl = 0;
	int i;

	fam->scan_bound = bound;
	if (bound <= FW_MAX_SCAN)
		return 0;
	for (i = FW_IDX_SRC; i <= FW_IDX_DST; i++) {
		const struct fw_lists *l = &fam->idx[i];

		if (l->indexed)
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl,
					       "; the longest %s class list holds %zu", idx_name(i), l->max);
		else if (l->why_not)
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl,
					       "; the %s index is not built: %s", idx_name(i), l->why_not);
		else
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl,
					       "; no rule has a %s prefix", idx_name(i));
		if (dl >= sizeof(detail))
			dl = sizeof(detail) - 1;
	}
	snprintf(p, sizeof(p), "%s.rules", path);
	errs_add(errs, p,
		 "an %s packet may have to be checked against %zu atoms, over the limit of %u (rules whose src and dst are both \"any\" are candidates for every packet; a packet without ports cannot use the port index)%s",
		 fam_name(fam->family), bound, FW_MAX_SCAN, detail);
	return -EINVAL;
}

/* Indexes worth a lookup, the shortest lists (on average) first. */
static void order(const struct fw_fam *fam, struct fw_fam_cfg *fc)
{
	int n = 0, i, j;
	uint8_t t;

	memset(fc->order, FW_IDX_NONE, sizeof(fc->order));
	for (i = 0; i < 3; i++)
		if (fam->idx[i].indexed)
			fc->order[n++] = (uint8_t)i;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && fam->idx[fc->order[j]].mean < fam->idx[fc->order[j - 1]].mean; j--)
			t = fc->order[j], fc->order[j] = fc->order[j - 1], fc->order[j - 1] = t;
}

/* ---- image ---- */

static void host_words(__u32 *w, fw_u128 a)
{
	int i;

	for (i = 0; i < 4; i++)
		w[i] = (uint32_t)(a >> (96 - 32 * i));
}

static void atom4_of(const struct fw_catom *c, const struct fw_image *img,
		     struct fw_atom4 *a)
{
	memset(a, 0, sizeof(*a));
	a->src = (uint32_t)(c->pfx[0].addr >> 96);
	a->dst = (uint32_t)(c->pfx[1].addr >> 96);
	a->slen = c->pfx[0].plen, a->dlen = c->pfx[1].plen;
	a->sport_lo = c->slo, a->sport_hi = c->shi;
	a->dport_lo = c->dlo, a->dport_hi = c->dhi;
	a->rule = c->rule, a->proto = c->proto;
	a->flags = c->flags | (img->rules[c->rule].action == FW_ACT_DENY ? FW_ATOM_DENY : 0);
	a->states = c->states;
}

static void atom6_of(const struct fw_catom *c, const struct fw_image *img,
		     struct fw_atom6 *a)
{
	memset(a, 0, sizeof(*a));
	host_words(a->src, c->pfx[0].addr);
	host_words(a->dst, c->pfx[1].addr);
	a->slen = c->pfx[0].plen, a->dlen = c->pfx[1].plen;
	a->sport_lo = c->slo, a->sport_hi = c->shi;
	a->dport_lo = c->dlo, a->dport_hi = c->dhi;
	a->rule = c->rule, a->proto = c->proto;
	a->flags = c->flags | (img->rules[c->rule].action == FW_ACT_DENY ? FW_ATOM_DENY : 0);
	a->states = c->states;
}

/* The family's atoms, its lists (atom indexes, concatenated) and its
 * buckets, whose offsets are positions in map fw_cand: the lists follow the
 * atoms there. */
static int image_family(const struct fw_fam *fam, struct fw_image *img,
			struct fw_fam_cfg *fc)
{
	bool v4 = fam->family == 4;
	size_t *ncls = v4 ? img->nclasses4 : img->nclasses6;
	size_t *maxl = v4 ? img->max_list4 : img->max_list6;
	size_t nb = 0, nc = 0, k;
	struct fw_bucket *bkt;
	uint32_t *cand;
	void *atoms;
	int i;

	for (i = 0; i < 3; i++) {
		ncls[i] = fam->idx[i].indexed ? fam->idx[i].nbkt : 0;
		maxl[i] = fam->idx[i].indexed ? fam->idx[i].max : 0;
		nb += ncls[i];
		nc += fam->idx[i].indexed ? fam->idx[i].ncand : 0;
	}
	bkt = malloc((nb ? nb : 1) * sizeof(*bkt));
	cand = malloc((nc ? nc : 1) * sizeof(*cand));
	atoms = calloc(fam->n ? fam->n : 1,
		       v4 ? sizeof(struct fw_atom4) : sizeof(struct fw_atom6));
	if (!bkt || !cand || !atoms) {
		free(bkt);
		free(cand);
		free(atoms);
		return -ENOMEM;
	}
	for (k = 0; k < fam->n; k++) {
		if (v4)
			atom4_of(&fam->atoms[k], img, (struct fw_atom4 *)atoms + k);
		else
			atom6_of(&fam->atoms[k], img, (struct fw_atom6 *)atoms + k);
	}
	nb = nc = 0;
	for (i = 0; i < 3; i++) {
		const struct fw_lists *l = &fam->idx[i];

		fc->base[i] = (uint32_t)nb;
		if (!l->indexed)
			continue;
		for (k = 0; k < l->nbkt; k++)
			bkt[nb + k] = (struct fw_bucket){
				(uint32_t)(fam->n + nc + l->bkt[k].off), l->bkt[k].len };
		memcpy(cand + nc, l->cand, l->ncand * sizeof(*cand));
		nb += l->nbkt;
		nc += l->ncand;
	}
	if (v4) {
		img->bkt4 = bkt, img->nbkt4 = nb;
		img->atoms4 = atoms, img->natoms4 = fam->n;
		img->cand4 = cand, img->ncand4 = nc;
	} else {
		img->bkt6 = bkt, img->nbkt6 = nb;
		img->atoms6 = atoms, img->natoms6 = fam->n;
		img->cand6 = cand, img->ncand6 = nc;
	}
	return 0;
}

/* The atom index behind position e of a family's fw_cand map (SIZE_MAX
 * when out of range). */
static size_t cand_atom(const struct fw_image *img, int f, uint32_t e)
{
	size_t natoms = f ? img->natoms6 : img->natoms4, ncand = f ? img->ncand6 : img->ncand4;
	const uint32_t *cand = f ? img->cand6 : img->cand4;
	size_t a = e;

	if (e >= natoms) {
		if (e - natoms >= ncand)
			return SIZE_MAX;
		a = cand[e - natoms];
	}
	return a < natoms ? a : SIZE_MAX;
}

/* What the address index's lookup returns for each class: its list inline
 * when short enough for a leaf (no bucket lookup then), else the class;
 * and (IPv4) the first atom of the list. */
static int leaves(const struct fw_fam *fams, const struct fw_image *img, struct fw_leaves lv[2])
{
	int f, x;

	for (f = 0; f < 2; f++) {
		const struct fw_fam_cfg *fc = f ? &img->cfg.f6 : &img->cfg.f4;
		const struct fw_bucket *bkt = f ? img->bkt6 : img->bkt4;

		for (x = FW_FIELD_SRC; x <= FW_FIELD_DST; x++) {
			const struct fw_lists *l = &fams[f].idx[x];
			size_t c, a, n = fams[f].f[x].n + 1;

			lv[f].leaf[x] = malloc(n * sizeof(*lv[f].leaf[x]));
			if (!f)
				lv[f].first4[x] = calloc(n, sizeof(*lv[f].first4[x]));
			if (!lv[f].leaf[x] || (!f && !lv[f].first4[x]))
				return -ENOMEM;
			for (c = 0; c < n; c++) {
				const struct fw_bucket *b = &bkt[fc->base[x] + c];

				lv[f].leaf[x][c] = (uint32_t)c;
				if (!f && l->indexed && b->len) {
					a = cand_atom(img, f, b->off);
					if (a != SIZE_MAX)
						lv[f].first4[x][c] = &img->atoms4[a];
				}
				if (l->indexed && b->len <= FW_LIST_MAX_LEN &&
				    b->off <= FW_LIST_MAX_OFF)
					lv[f].leaf[x][c] = FW_LPM_LIST |
							   b->len << FW_LIST_LEN_SHIFT | b->off;
			}
		}
	}
	return 0;
}

static void fam_free(struct fw_fam *fam)
{
	int i;

	free(fam->atoms);
	for (i = 0; i < 2; i++)
		fw_field_free(&fam->f[i]);
	for (i = 0; i < 3; i++)
		fw_lists_free(&fam->idx[i]);
}

void fw_image_free(struct fw_image *img)
{
	free(img->lpm4.t);
	free(img->lpm4.tails);
	free(img->lpm6.t);
	free(img->lpm6.tails);
	free(img->port_cls);
	free(img->bkt4);
	free(img->bkt6);
	free(img->cand4);
	free(img->cand6);
	free(img->atoms4);
	free(img->atoms6);
	free(img->rules);
	free(img->ids);
	memset(img, 0, sizeof(*img));
}

int fw_compile(const struct spec_firewall *fw, const char *path,
	       struct fw_image *img, struct sl_errs *errs)
{
	struct fw_fam fams[2] = { { .family = 4, .bits = 32 }, { .family = 6, .bits = 128 } };
	struct fw_fam *fp[2] = { &fams[0], &fams[1] };
	struct rule_buf rb = { 0 };
	size_t nerr = errs->n + errs->dropped, i, nports = 0, bound[2];
	struct fw_leaves lv[2];
	char p[PATH_LEN];
	int err, f, x;

	memset(img, 0, sizeof(*img));
	memset(lv, 0, sizeof(lv));
	check_rules(fw, path, errs);
	if (errs->n + errs->dropped > nerr)
		return -EINVAL;

	img->nrules = fw->nrules;
	img->rules = calloc(fw->nrules ? fw->nrules : 1, sizeof(*img->rules));
	img->ids = calloc(fw->nrules ? fw->nrules : 1, sizeof(*img->ids));
	if (!img->rules || !img->ids)
		goto nomem;
	for (i = 0; i < fw->nrules; i++) {
		img->rules[i].action = fw->rules[i].action == SPEC_ACT_ALLOW ? FW_ACT_ALLOW : FW_ACT_DENY;
		img->rules[i].flags = fw->rules[i].audit ? FW_RULE_AUDIT : 0;
		if (fw->rules[i].id)
			strncpy(img->ids[i].id, fw->rules[i].id, FW_RULE_ID_LEN - 1);
	}
	img->cfg.default_action = fw->default_action == SPEC_ACT_ALLOW ? FW_ACT_ALLOW : FW_ACT_DENY;
	img->cfg.audit = fw->audit;
	for (i = 0; i < fw->nrules; i++)
		if (fw->rules[i].states)
			img->cfg.features |= FW_FEAT_STATE;

	for (f = 0; f < 2; f++) {
		err = expand(fw, path, &fams[f], &rb, errs);
		if (err)
			goto fail;
		for (x = FW_FIELD_SRC; x <= FW_FIELD_DST; x++) {
			err = fw_field_build(&fams[f], x);
			if (!err)
				err = fw_lists_addr_size(&fams[f], x);
			if (err)
				goto fail;
		}
		choose_addr(&fams[f]);
		for (x = FW_FIELD_SRC; x <= FW_FIELD_DST; x++) {
			if (!fams[f].idx[x].cut)
				continue;
			err = fw_lists_addr_build(&fams[f], x);
			if (err)
				goto fail;
		}
		bound[f] = addr_bound(&fams[f]);
	}
	img->port_cls = calloc(FW_PORT_SPACE, sizeof(*img->port_cls));
	if (!img->port_cls)
		goto nomem;
	err = fw_lists_port(fp, bound, img->port_cls, &nports);
	if (err)
		goto fail;
	if (!fams[0].idx[FW_IDX_PORT].indexed && !fams[1].idx[FW_IDX_PORT].indexed) {
		free(img->port_cls);
		img->port_cls = NULL;
	}

	err = plan(&fams[0], path, errs);
	err = plan(&fams[1], path, errs) ?: err; /* report both families */
	if (err)
		goto fail;
	for (f = 0; f < 2; f++) {
		struct fw_fam_cfg *fc = f ? &img->cfg.f6 : &img->cfg.f4;

		order(&fams[f], fc);
		fc->natoms = (uint32_t)fams[f].n;
		fc->scan_good = f ? FW_SCAN_GOOD6 : FW_SCAN_GOOD4;
	}
	img->max_scan4 = fams[0].scan_bound;
	img->max_scan6 = fams[1].scan_bound;

	/* Caps before the memory behind them. */
	img->lpm4_chunks = fw_lpm4_chunks(&fams[0]);
	if (img->lpm4_chunks == SIZE_MAX)
		goto nomem;
	if (img->lpm4_chunks > FW_LPM4_MAX_CHUNKS) {
		snprintf(p, sizeof(p), "%s.rules", path);
		errs_add(errs, p,
			 "the IPv4 prefixes need %zu DIR-16-8-8 chunks (one per distinct /16 holding a longer prefix, one more per distinct /24 holding a prefix longer than /24; a bound on the table's nodes of 64 B and tail groups of 192 B), over the limit of %u",
			 img->lpm4_chunks, FW_LPM4_MAX_CHUNKS);
		err = -EINVAL;
		goto fail;
	}

	err = image_family(&fams[0], img, &img->cfg.f4);
	if (!err)
		err = image_family(&fams[1], img, &img->cfg.f6);
	if (!err)
		err = leaves(fams, img, lv);
	if (err)
		goto fail;

	/* IPv4 roots, nodes and tails */
	err = fw_lpm_build(&fams[0], &lv[0], SIZE_MAX, &img->lpm4);
	if (err)
		goto fail;

	/* IPv6 nodes and tails */
	err = fw_lpm_build(&fams[1], &lv[1], FW_LPM6_MAX_ELEMS, &img->lpm6);
	if (err == -E2BIG) {
		snprintf(p, sizeof(p), "%s.rules", path);
		errs_add(errs, p,
			 "the IPv6 prefixes need more table elements of 64 B (roots, nodes and prefix tails), over the limit of %u",
			 FW_LPM6_MAX_ELEMS);
		err = -EINVAL;
	}
	if (err)
		goto fail;

	img->bytes = img->lpm4.n * 4 + img->lpm6.n * 4 +
		     (img->port_cls ? FW_PORT_SPACE * 4 : 0) +
		     (img->nbkt4 + img->nbkt6) * sizeof(struct fw_bucket) +
		     (img->natoms4 + img->ncand4) * sizeof(struct fw_atom4) +
		     (img->natoms6 + img->ncand6) * sizeof(struct fw_atom6) +
		     img->nrules * (sizeof(struct fw_rule) + sizeof(struct fw_rule_id));
	err = 0;
	goto out;
nomem:
	err = -ENOMEM;
fail:
	fw_image_free(img);
out:
	for (f = 0; f < 2; f++) {
		fam_free(&fams[f]);
		for (x = 0; x < 2; x++) {
			free(lv[f].leaf[x]);
			free(lv[f].first4[x]);
		}
	}
	free(rb.pfx[0]);
	free(rb.pfx[1]);
	free(rb.rng[0]);
	free(rb.rng[1]);
	return err;
}
