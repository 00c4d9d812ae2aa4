//! Everything before admission: payload rules, routing, the key's model permission, the input
//! content filter and the token limits. The prompt count it makes also feeds the token rate limits.

use llm_core::{ChatRequest, ErrorKind, LlmError, ModelRef};
use llm_validation::{check_token_limits, known_context_window, validate_payload};

use crate::attempts::pick;
use crate::gateway::{Gateway, RequestContext};
use crate::output_filter::OutputRules;
use crate::router::{Route, RoutePlan};
use crate::routing::balancer::Rng;

/// A request that passed validation, with where it goes and how big its prompt is.
pub(crate) struct Prepared {
    /// The first attempt's deployment: the balancer's pick, else the model's first deployment.
    pub route: Route,
    /// Every deployment and fallback the attempts may use.
    pub plan: RoutePlan,
    /// The pick's index in the first group, when the balancer found one available.
    pub first: Option<usize>,
    pub prompt_tokens: u64,
}

impl Gateway {
    /// validate -> route -> permission -> input filter -> token limits.
    pub(crate) fn prepare(
        &self,
        ctx: &RequestContext,
        request: &mut ChatRequest,
    ) -> Result<Prepared, LlmError> {
        validate_payload(request, &self.validation.payload)?;
        let mut plan = self.router.plan(&ModelRef::parse(&request.model))?;
        let key = ctx.principal.as_ref().map(|principal| principal.name.as_str());
        if let Some(principal) = &ctx.principal {
            // A key limited to some models may use only the deployments (and fallbacks) it names,
            // whichever the balancer would pick.
            for group in &mut plan.groups {
                group.candidates.retain(|candidate| {
                    let routed = format!(
                        "{}/{}",
                        candidate.route.entry.id(),
                        candidate.route.upstream_model
                    );
                    principal.may_use(&request.model, &routed) || principal.may_use(&group.model, &routed)
                });
            }
            if plan
                .groups
                .first()
                .is_none_or(|group| group.candidates.is_empty())
            {
                return Err(LlmError::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "the key `{}` may not use the model `{}`",
                        principal.name, request.model
                    ),
                )
                .with_param("model"));
            }
            plan.groups.retain(|group| !group.candidates.is_empty());
        }
        let first = plan
            .groups
            .first()
            .and_then(|group| pick(group, &[], &mut Rng::from_entropy()));
        let route = plan
            .groups
            .first()
            .and_then(|group| group.candidates.get(first.unwrap_or(0)))
            .map(|candidate| candidate.route.clone())
            .ok_or_else(|| LlmError::internal("a route group without deployments"))?;
        if !self.filter.0.is_empty() {
            let model = request.model.clone();
            self.filter.0.check_input(&model, key, request)?;
        }
        let count = self.tokens.count_prompt(&route.upstream_model, request);
        let window = self
            .validation
            .context_windows
            .get(&route.upstream_model)
            .copied()
            .or_else(|| known_context_window(&route.upstream_model));
        let per_model = self.validation.max_prompt_tokens.get(&request.model).copied();
        let per_key = ctx
            .principal
            .as_ref()
            .and_then(|principal| principal.max_prompt_tokens);
        let max_prompt = match (per_model, per_key) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        check_token_limits(
            count,
            request.max_output_tokens().map(u64::from),
            window,
            max_prompt,
        )?;
        tracing::debug!(request_id = %ctx.request_id, provider = %route.entry.id(), model = %route.upstream_model,
            prompt_tokens = count.tokens, "validated and routed");
        Ok(Prepared {
            route,
            plan,
            first,
            prompt_tokens: count.tokens,
        })
    }

    /// The output filter rules for this answer, when any apply.
    pub(crate) fn output_rules(&self, ctx: &RequestContext, request: &ChatRequest) -> Option<OutputRules> {
        let key = ctx.principal.as_ref().map(|principal| principal.name.clone());
        self.filter
            .0
            .has_output_rules(&request.model, key.as_deref())
            .then(|| OutputRules {
                filter: self.filter.0.clone(),
                model: request.model.clone(),
                key,
            })
    }
}
