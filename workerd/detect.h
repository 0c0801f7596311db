/* placeholder */
#ifndef SECOND_WORKERD_DETECT_H
#define SECOND_WORKERD_DETECT_H
#endif
