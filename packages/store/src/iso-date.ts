import { z } from "zod";

/** A timestamp read from a `ccm.op_*` function: JSON carries it as an ISO string, callers get a Date. */
export const isoDate = z.coerce.date();
