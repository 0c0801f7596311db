/* placeholder */
#ifndef SECOND_WORKERD_AGENTS_JSON_H
#define SECOND_WORKERD_AGENTS_JSON_H
#endif
