/* placeholder */
#ifndef SECOND_WORKERD_FILES_H
#define SECOND_WORKERD_FILES_H
#endif
