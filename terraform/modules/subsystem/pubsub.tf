# The subsystem's hub: bus, faults and external topics, and the event lake fed from the bus.

resource "google_pubsub_topic" "this" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest. CMEK needs Cloud KMS key rings, which can never be deleted, so a teardown could not remove everything; add kms_key_name where policy demands CMEK.
  for_each = toset(var.topics)

  project = local.project_id
  name    = each.value
  labels  = local.labels

  # The broker itself refuses, on `external`, anything that is not an event envelope.
  dynamic "schema_settings" {
    for_each = each.value == "external" ? [google_pubsub_schema.envelope.id] : []
    content {
      schema   = schema_settings.value
      encoding = "JSON"
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_pubsub_schema" "envelope" {
  project    = local.project_id
  name       = var.envelope_schema.id
  type       = "AVRO"
  definition = var.envelope_schema.definition

  # A changed envelope schema comes under a new id (-v2): the new one exists and `external`
  # uses it before the old one goes. Deleted first, every publish to `external` would fail
  # ("Schema associated with topic deleted") until the topic is updated.
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.api]
}

# Dead-lettering: the Pub/Sub service agent forwards undeliverable messages to `faults`.
resource "google_pubsub_topic_iam_member" "dead_letter" {
  project = local.project_id
  topic   = google_pubsub_topic.this["faults"].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.pubsub_service_agent}"
}

resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Data Access audit logs (audit.tf) record every read and write of lake objects; a usage-log bucket would duplicate them and need a log bucket of its own.
  project  = local.project_id
  name     = "${local.project_id}-lake"
  location = var.region
  labels   = local.labels

  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  versioning {
    enabled = true # lake objects are never overwritten; a mistaken delete stays recoverable
  }

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  # With a retention, an event older than it is deleted, and so, a week later, the version
  # versioning keeps of it: personal data must not outlive the retention in old versions.
  dynamic "lifecycle_rule" {
    for_each = var.lake_retention_days == null ? [] : [var.lake_retention_days]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.lake_retention_days == null ? [] : [7]
    content {
      condition {
        days_since_noncurrent_time = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  # Soft delete (a bucket's default: 7 days) would keep a deleted old version restorable for
  # another week: with a retention, the week of old versions is the only grace.
  dynamic "soft_delete_policy" {
    for_each = var.lake_retention_days == null ? [] : [0]
    content {
      retention_duration_seconds = soft_delete_policy.value # 0: soft delete off
    }
  }

  # Storage must be on, and the Pub/Sub service agent exist, before lake_writer grants it.
  depends_on = [google_project_service.api]
}

resource "google_storage_bucket_iam_member" "lake_writer" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.legacyBucketReader"])

  bucket = google_storage_bucket.lake.name
  role   = each.value
  member = "serviceAccount:${local.pubsub_service_agent}"
}

# Every event on the bus, kept for lake_retention_days (null: for good):
# {subsystem}/bus/YYYY/MM/DD/hh/mm_ssZ_<id>.jsonl,
# one envelope per line (the layout of shared/lake).
resource "google_pubsub_subscription" "lake" {
  project = local.project_id
  name    = "lake"
  topic   = google_pubsub_topic.this["bus"].id
  labels  = local.labels

  expiration_policy {
    ttl = ""
  }

  cloud_storage_config {
    bucket                   = google_storage_bucket.lake.name
    filename_prefix          = "${var.name}/bus/"
    filename_suffix          = ".jsonl"
    filename_datetime_format = "YYYY/MM/DD/hh/mm_ssZ"
    max_duration             = "300s"
    max_bytes                = 10000000
  }

  depends_on = [google_storage_bucket_iam_member.lake_writer]
}
