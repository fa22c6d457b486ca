/* The export macro: libtestbus is built with hidden visibility by default. */
#ifndef TESTBUS_EXPORT_H
#define TESTBUS_EXPORT_H

#if defined(TB_BUILDING_LIBRARY)
#define TB_EXPORT __attribute__((visibility("default")))
#else
#define TB_EXPORT
#endif

#endif
