/* placeholder */
#ifndef SECOND_WORKERD_TOOLS_H
#define SECOND_WORKERD_TOOLS_H
#endif
