/* The project version, shared by the version resource and the tests. */
#ifndef RSTRTMGR_VERSION_H
#define RSTRTMGR_VERSION_H
#define RSTRTMGR_VERSION_MAJOR 0
#define RSTRTMGR_VERSION_MINOR 1
#define RSTRTMGR_VERSION_PATCH 0
#define RSTRTMGR_VERSION_STRING "0.1.0"
#define RSTRTMGR_PRODUCT_NAME "rstrtmgr clean-room Restart Manager"
#endif
