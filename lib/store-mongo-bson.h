/* JSON <-> BSON conversion for the MongoDB store backend, exposed for its unit test.
 *
 * JSON objects become BSON documents with their keys in the same order; arrays become BSON
 * arrays keyed "0", "1", ...; integers are always int64 (so a stored integer, and $inc on it,
 * stays an integer of one type whatever its size); reals are doubles; strings UTF-8. Back from
 * BSON, int32 and int64 become integers, doubles reals, and a BSON date becomes the store's
 * fixed-width ISO-8601 UTC string ("2026-11-23T04:17:00.123Z") so documents written by the
 * original Node application read like ours; any other BSON type (ObjectId, binary, decimal128,
 * regex, timestamp, ...) is refused with ERR_UNSUPPORTED, since the data model has none. */
#ifndef SECOND_STORE_MONGO_BSON_H
#define SECOND_STORE_MONGO_BSON_H

#include <bson/bson.h>
#include <jansson.h>

#include "lib/err.h"

/* A new BSON document from the JSON object `obj` (borrowed); free it with bson_destroy().
 * NULL with ERR_INVALID (not an object), ERR_TOO_DEEP or ERR_TOO_LARGE (over BSON's 2 GiB). */
bson_t *store_mongo_json_to_bson(const json_t *obj, struct err *e)
	__attribute__((warn_unused_result));

/* A new JSON object (new reference) from the BSON document `doc` (borrowed). NULL with
 * ERR_UNSUPPORTED (a BSON type we do not map, a non-finite double, invalid UTF-8), ERR_TOO_DEEP
 * or ERR_IO (a corrupt document). */
json_t *store_mongo_bson_to_json(const bson_t *doc, struct err *e)
	__attribute__((warn_unused_result));

#endif
