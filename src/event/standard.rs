//! Standard event names, translated per destination: a tag says `Purchase` once, OpenAI gets
//! `order_created` with `data.type = contents`, the Meta-style layouts get `Purchase`.
//! The one table of names lives here (sources: developers.openai.com/ads/supported-events, Meta's standard events).

/// OpenAI's `data.type` for an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiDataType {
    Contents,
    CustomerAction,
    PlanEnrollment,
    Custom,
}

impl OpenAiDataType {
    pub fn as_str(self) -> &'static str {
        match self {
            OpenAiDataType::Contents => "contents",
            OpenAiDataType::CustomerAction => "customer_action",
            OpenAiDataType::PlanEnrollment => "plan_enrollment",
            OpenAiDataType::Custom => "custom",
        }
    }
}

/// One standard event: (Meta name, OpenAI type, OpenAI data type).
pub struct StandardEvent {
    pub meta: &'static str,
    pub openai: &'static str,
    pub data_type: OpenAiDataType,
}

pub const STANDARD_EVENTS: [StandardEvent; 12] = [
    se("PageView", "page_viewed", OpenAiDataType::Contents),
    se("ViewContent", "contents_viewed", OpenAiDataType::Contents),
    se("AddToCart", "items_added", OpenAiDataType::Contents),
    se(
        "InitiateCheckout",
        "checkout_started",
        OpenAiDataType::Contents,
    ),
    se("Purchase", "order_created", OpenAiDataType::Contents),
    se("Lead", "lead_created", OpenAiDataType::CustomerAction),
    se(
        "CompleteRegistration",
        "registration_completed",
        OpenAiDataType::CustomerAction,
    ),
    se(
        "Schedule",
        "appointment_scheduled",
        OpenAiDataType::CustomerAction,
    ),
    se(
        "Subscribe",
        "subscription_created",
        OpenAiDataType::PlanEnrollment,
    ),
    se(
        "StartTrial",
        "trial_started",
        OpenAiDataType::PlanEnrollment,
    ),
    se(
        "AppInstall",
        "app_installed",
        OpenAiDataType::CustomerAction,
    ),
    se("AppOpen", "app_opened", OpenAiDataType::CustomerAction),
];

const fn se(meta: &'static str, openai: &'static str, data_type: OpenAiDataType) -> StandardEvent {
    StandardEvent {
        meta,
        openai,
        data_type,
    }
}

/// The standard event a tag's name stands for, in either vocabulary (`Purchase` or `order_created`).
pub fn lookup(name: &str) -> Option<&'static StandardEvent> {
    STANDARD_EVENTS
        .iter()
        .find(|e| e.meta == name || e.openai == name)
}

/// Every standard name, for hints.
pub fn all_names() -> Vec<&'static str> {
    STANDARD_EVENTS
        .iter()
        .flat_map(|e| [e.meta, e.openai])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vocabularies_find_the_same_event() {
        for (name, openai, meta, dt) in [
            ("Purchase", "order_created", "Purchase", "contents"),
            ("order_created", "order_created", "Purchase", "contents"),
            ("Lead", "lead_created", "Lead", "customer_action"),
            (
                "StartTrial",
                "trial_started",
                "StartTrial",
                "plan_enrollment",
            ),
            ("PageView", "page_viewed", "PageView", "contents"),
        ] {
            let e = lookup(name).unwrap();
            assert_eq!(
                (e.openai, e.meta, e.data_type.as_str()),
                (openai, meta, dt),
                "{name}"
            );
        }
        assert!(
            lookup("purchase").is_none(),
            "names are case-sensitive, like the platforms'"
        );
    }
}
