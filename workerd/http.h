/* placeholder */
#ifndef SECOND_WORKERD_HTTP_H
#define SECOND_WORKERD_HTTP_H
#endif
