//! The churn model, trained and evaluated out of time: lift and calibration.

use super::*;

pub(super) fn churn(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("churn", "Churn model");
    let p = ctx.cfg.params();
    // evaluated out of time: trained on the window that ends where the evaluation starts
    let horizon = i64::from(p.churn_horizon_days).min(ctx.cfg.holdout_days().max(1));
    let eval_cutoff = p.calibration_end + Days::new(1);
    let Some(train_cutoff) = eval_cutoff.checked_sub_days(Days::new(horizon as u64)) else {
        return Ok(absent(
            key,
            title,
            "The data window is too short to train a churn model.",
        ));
    };
    let horizon = horizon as u32;
    let c = clientele::churn::ChurnModelParams::new().c;
    let model = match churn_train(ctx.store, train_cutoff, horizon, None, c, false, ctx.par) {
        Ok(t) => t.model,
        Err(e) => return Ok(absent(key, title, format!("The churn model could not be trained: {e}"))),
    };
    // the held-out dataset once: the evaluation (as `churn_evaluate` computes it) and the lift
    // at every decile come from the same labels and scores
    let fp = model.feature_config(eval_cutoff)?;
    let (features, labels) = churn_dataset(ctx.store, fp.params(), eval_cutoff, horizon, None, ctx.par)?;
    let (y, s) = (clientele::churn::label_values(&labels)?, model.predict(&features)?);
    let eval = match clientele::churn::evaluation::evaluate(&y, &s) {
        Ok(e) => e,
        Err(e) => {
            return Ok(absent(
                key,
                title,
                format!("The churn model could not be evaluated: {e}"),
            ));
        }
    };
    let fractions: Vec<f64> = (1..=10).map(|d| f64::from(d) / 10.0).collect();
    let lifts = fractions
        .iter()
        .map(|&f| clientele::churn::evaluation::lift_at(&y, &s, f))
        .collect::<clientele::Result<Vec<_>>>()?;
    let labels: Vec<String> = fractions.iter().map(|f| format!("top {}", pct(*f))).collect();
    let reading = format!(
        "Trained to {train_cutoff}, scored at {eval_cutoff} on {} customers: the top 10% of scores hold {} of the {}-day churners (lift {:.2}); ROC AUC {:.3}.",
        count(eval.rows as f64),
        pct(eval.top_decile.capture_rate),
        horizon,
        eval.top_decile.lift,
        eval.roc_auc
    );
    let lift_table = table(vec![
        ("top_share", Col::Num(fractions.clone())),
        ("lift", Col::Num(lifts.iter().map(|l| l.lift).collect())),
        ("capture_rate", Col::Num(lifts.iter().map(|l| l.capture_rate).collect())),
    ])?;
    let cal = &eval.calibration;
    let cal_table = table(vec![
        ("bin", Col::Num((1..=cal.len()).map(|b| b as f64).collect())),
        ("rows", Col::Num(cal.iter().map(|b| b.rows as f64).collect())),
        (
            "mean_predicted",
            Col::Num(cal.iter().map(|b| b.mean_predicted).collect()),
        ),
        ("observed_rate", Col::Num(cal.iter().map(|b| b.observed_rate).collect())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "churn-lift",
                title: "Lift: churn rate among the highest scores over the overall rate".into(),
                caption: reading,
                chart: bars(
                    labels,
                    vec![("lift", lifts.iter().map(|l| l.lift).collect())],
                    false,
                    (
                        "customers with the highest churn scores",
                        "lift (x the overall churn rate)",
                    ),
                    ValueFormat::Number,
                ),
                table: lift_table,
            },
            Figure {
                key: "churn-calibration",
                title: "Calibration: predicted vs observed churn rate by score decile".into(),
                caption: format!(
                    "Points on the diagonal are well calibrated; Brier score {:.3}.",
                    eval.brier_score
                ),
                chart: Chart::Scatter(ScatterChart {
                    points: cal.iter().map(|b| (b.mean_predicted, b.observed_rate)).collect(),
                    x_axis: "mean predicted churn probability (%)".into(),
                    y_axis: "observed churn rate (%)".into(),
                    x_format: ValueFormat::Percent,
                    y_format: ValueFormat::Percent,
                    diagonal: true,
                }),
                table: cal_table,
            },
        ],
    ))
}
