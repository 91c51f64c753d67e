// Who may rotate the master key, asked by every function of a rotation: superusers only.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "miscadmin.h"
}

namespace witness::pg
{

inline void require_rotation_privilege()
{
	if (!superuser())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("only superusers can rotate the master key")));
}

} // namespace witness::pg
