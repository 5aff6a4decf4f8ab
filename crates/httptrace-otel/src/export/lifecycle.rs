//! What both span exporters do around each export, whatever carries it:
//! refuse once shut down, keep the resource the SDK hands them, and record
//! each export's start and outcome in its `ExportStatus`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::export::status::ExportStatus;

/// One span exporter's shutdown flag, resource and export status.
#[derive(Debug)]
pub(crate) struct ExportLifecycle {
    pub(crate) status: Arc<ExportStatus>,
    /// The resource the SDK set (empty until it does).
    pub(crate) resource: Resource,
    shut_down: AtomicBool,
}

impl ExportLifecycle {
    pub(crate) fn new(status: Arc<ExportStatus>) -> Self {
        ExportLifecycle {
            status,
            resource: Resource::builder_empty().build(),
            shut_down: AtomicBool::new(false),
        }
    }

    /// Starts an export: an error once shut down, else counted as begun.
    pub(crate) fn begin(&self) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.status.begin();
        Ok(())
    }

    /// Records how the export begun by [`begin`](Self::begin) ended.
    pub(crate) fn end(&self, result: &OTelSdkResult) {
        self.status.end(result);
    }

    /// The exporter's `shutdown`: the first call succeeds, later ones say
    /// it already happened.
    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            Err(OTelSdkError::AlreadyShutdown)
        } else {
            Ok(())
        }
    }
}
