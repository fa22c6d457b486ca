/* The generated protobuf-c types of the testbus.v1 contract. */
#ifndef TESTBUS_PROTO_H
#define TESTBUS_PROTO_H

#include <protobuf-c/protobuf-c.h>

#include "testbus/v1/value.pb-c.h"
#include "testbus/v1/envelope.pb-c.h"
#include "testbus/v1/types.pb-c.h"
#include "testbus/v1/services.pb-c.h"

#endif
