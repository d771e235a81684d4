package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/exo-actors/exo-actors/actors"
)

// collector exports the gateway's counts (Stats) on its node's registry,
// read at scrape time: docs/operations.md lists them.
type collector struct {
	g                                         *Gateway
	sessions, subscriptions, openTasks, ended *prometheus.Desc
	unconfirmed                               *prometheus.Desc
}

func newCollector(g *Gateway) *collector {
	ns := actors.MetricsNamespace
	return &collector{g: g,
		sessions: prometheus.NewDesc(prometheus.BuildFQName(ns, "gateway", "sessions"),
			"Client sessions open on the node's gateway.", nil, nil),
		subscriptions: prometheus.NewDesc(prometheus.BuildFQName(ns, "gateway", "subscriptions"),
			"Stream subscriptions of the gateway's clients.", nil, nil),
		openTasks: prometheus.NewDesc(prometheus.BuildFQName(ns, "gateway", "open_tasks"),
			"Tasks the gateway's clients submitted that have not ended yet.", nil, nil),
		ended: prometheus.NewDesc(prometheus.BuildFQName(ns, "gateway", "sessions_ended_total"),
			"Client sessions that ended, by why: a goodbye (or the gateway's stop), or the client's loss.", []string{"reason"}, nil),
		unconfirmed: prometheus.NewDesc(prometheus.BuildFQName(ns, "gateway", "spawns_unconfirmed_total"),
			"Runners spawned for a client lost before it confirmed their IDs reached its caller: kept, and named in a warning in the node's log.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.subscriptions, c.openTasks, c.ended, c.unconfirmed} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.g.Stats()
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(st.Sessions))
	ch <- prometheus.MustNewConstMetric(c.subscriptions, prometheus.GaugeValue, float64(st.Subscriptions))
	ch <- prometheus.MustNewConstMetric(c.openTasks, prometheus.GaugeValue, float64(st.OpenTasks))
	ch <- prometheus.MustNewConstMetric(c.ended, prometheus.CounterValue, float64(st.SessionsBye), "bye")
	ch <- prometheus.MustNewConstMetric(c.ended, prometheus.CounterValue, float64(st.SessionsLost), "lost")
	ch <- prometheus.MustNewConstMetric(c.unconfirmed, prometheus.CounterValue, float64(st.SpawnsUnconfirmed))
}
