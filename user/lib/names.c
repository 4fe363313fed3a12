// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "names.h"
#include "shared/drop_reasons.h"
#include "shared/meta.h"

#define DROP_NAME(name, str) [SL_DROP_##name] = str,
static const char *const drop_names[SL_DROP__MAX] = { SL_DROP_REASONS(DROP_NAME) };
#undef DROP_NAME

const char *drop_reason_str(unsigned int reason)
{
	return reason < SL_DROP__MAX && drop_names[reason] ? drop_names[reason] : "unknown";
}

const char *verdict_str(unsigned int verdict)
{
	switch (verdict) {
	case SL_VERDICT_NONE: return "none";
	case SL_VERDICT_CONTINUE: return "continue";
	case SL_VERDICT_PASS: return "pass";
	case SL_VERDICT_DROP: return "drop";
	case SL_VERDICT_AUDIT: return "audit";
	default: return "unknown";
	}
}
