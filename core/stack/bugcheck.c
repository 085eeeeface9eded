/* bugcheck.c - Windows bugcheck codes and their symbolic names (Microsoft's "Bug Check
 * Code Reference"). Used by the stack parser to name a crash reason and by identifier
 * extraction to link `0xA` and `IRQL_NOT_LESS_OR_EQUAL` to each other. */
#include <stddef.h>
#include <string.h>

#include "stack/stack.h"

static const struct {
  unsigned code;
  const char *name;
} bugchecks[] = {
    {0x01, "APC_INDEX_MISMATCH"},
    {0x0A, "IRQL_NOT_LESS_OR_EQUAL"},
    {0x12, "TRAP_CAUSE_UNKNOWN"},
    {0x19, "BAD_POOL_HEADER"},
    {0x1A, "MEMORY_MANAGEMENT"},
    {0x1E, "KMODE_EXCEPTION_NOT_HANDLED"},
    {0x24, "NTFS_FILE_SYSTEM"},
    {0x27, "RDR_FILE_SYSTEM"},
    {0x3B, "SYSTEM_SERVICE_EXCEPTION"},
    {0x3D, "INTERRUPT_EXCEPTION_NOT_HANDLED"},
    {0x44, "MULTIPLE_IRP_COMPLETE_REQUESTS"},
    {0x4A, "IRQL_GT_ZERO_AT_SYSTEM_SERVICE"},
    {0x50, "PAGE_FAULT_IN_NONPAGED_AREA"},
    {0x7A, "KERNEL_DATA_INPAGE_ERROR"},
    {0x7B, "INACCESSIBLE_BOOT_DEVICE"},
    {0x7C, "BUGCODE_NDIS_DRIVER"},
    {0x7E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"},
    {0x7F, "UNEXPECTED_KERNEL_MODE_TRAP"},
    {0x8E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"},
    {0x9F, "DRIVER_POWER_STATE_FAILURE"},
    {0xA0, "INTERNAL_POWER_ERROR"},
    {0xBE, "ATTEMPTED_WRITE_TO_READONLY_MEMORY"},
    {0xC2, "BAD_POOL_CALLER"},
    {0xC4, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
    {0xC5, "DRIVER_CORRUPTED_EXPOOL"},
    {0xCE, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"},
    {0xD1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
    {0xD3, "DRIVER_PORTION_MUST_BE_NONPAGED"},
    {0xD5, "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"},
    {0xEF, "CRITICAL_PROCESS_DIED"},
    {0xF4, "CRITICAL_OBJECT_TERMINATION"},
    {0xFC, "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY"},
    {0xFE, "BUGCODE_USB_DRIVER"},
    {0x101, "CLOCK_WATCHDOG_TIMEOUT"},
    {0x109, "CRITICAL_STRUCTURE_CORRUPTION"},
    {0x116, "VIDEO_TDR_FAILURE"},
    {0x117, "VIDEO_TDR_TIMEOUT_DETECTED"},
    {0x119, "VIDEO_SCHEDULER_INTERNAL_ERROR"},
    {0x124, "WHEA_UNCORRECTABLE_ERROR"},
    {0x133, "DPC_WATCHDOG_VIOLATION"},
    {0x139, "KERNEL_SECURITY_CHECK_FAILURE"},
    {0x13A, "KERNEL_MODE_HEAP_CORRUPTION"},
    {0x144, "BUGCODE_USB3_DRIVER"},
    {0x154, "UNEXPECTED_STORE_EXCEPTION"},
    {0x15F, "CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP"},
    {0x18B, "SECURE_KERNEL_ERROR"},
    {0x1C8, "MANUALLY_INITIATED_POWER_BUTTON_HOLD"},
    {0x1E0, "HYPERVISOR_ERROR"},
    {0x20001, "HYPERVISOR_ERROR"},
    {0xDEADDEAD, "MANUALLY_INITIATED_CRASH1"},
    {0xE2, "MANUALLY_INITIATED_CRASH"},
};

const char *kb_bugcheck_name(unsigned code) {
  for (size_t i = 0; i < sizeof bugchecks / sizeof bugchecks[0]; i++)
    if (bugchecks[i].code == code) return bugchecks[i].name;
  return NULL;
}

unsigned kb_bugcheck_code(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof bugchecks / sizeof bugchecks[0]; i++)
    if (strlen(bugchecks[i].name) == len && memcmp(bugchecks[i].name, name, len) == 0)
      return bugchecks[i].code;
  return 0;
}
