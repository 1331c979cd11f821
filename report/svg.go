package report

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// series is one stacked part of a chart, with its colour.
type series struct {
	Name  string
	Color string
}

// column is one bar (or row) of a chart: one value per series.
type column struct {
	Label  string
	Values []int
}

func (c column) total() int {
	n := 0
	for _, v := range c.Values {
		n += v
	}
	return n
}

// Chart is one figure of the report: the SVG and, as its text
// alternative, the same numbers as a table.
type Chart struct {
	ID    string
	Title string
	Desc  string
	SVG   template.HTML
	Head  []string
	Rows  [][]string
	// Note says what the chart cannot show, when it must.
	Note string
}

// newChart fills the text alternative of a chart from its data.
func newChart(id, title, desc, first string, ser []series, cols []column) Chart {
	c := Chart{ID: id, Title: title, Desc: desc, Head: []string{first}}
	for _, s := range ser {
		c.Head = append(c.Head, s.Name)
	}
	for _, col := range cols {
		row := []string{col.Label}
		for _, v := range col.Values {
			row = append(row, strconv.Itoa(v))
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// svgOpen starts an SVG labelled by its <title> and <desc>.
func svgOpen(b *strings.Builder, id, title, desc string, w, h int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-t %s-d">`,
		esc(id), w, h, w, h, esc(id), esc(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

func esc(s string) string { return html.EscapeString(s) }

// legendLines is how many lines legend takes from x to maxX.
func legendLines(ser []series, x, maxX int) int {
	if len(ser) < 2 {
		return 0
	}
	lines, cx := 1, x
	for _, s := range ser {
		w := 24 + 7*len(s.Name)
		if cx+w > maxX && cx > x {
			lines, cx = lines+1, x
		}
		cx += w
	}
	return lines
}

// legend draws the series' names from (x, y), wrapping at maxX, as
// legendLines counts them.
func legend(b *strings.Builder, ser []series, x, y, maxX int) {
	if len(ser) < 2 {
		return
	}
	cx := x
	for _, s := range ser {
		w := 24 + 7*len(s.Name)
		if cx+w > maxX && cx > x {
			cx, y = x, y+legendLine
		}
		fmt.Fprintf(b, `<rect class="key" x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="lg">%s</text>`,
			cx, y, s.Color, cx+14, y+9, esc(s.Name))
		cx += w
	}
}

// legendLine is the height of a line of legend.
const legendLine = 16

// rowsChart draws horizontal bars, stacked by series, one per column.
func rowsChart(id, title, desc, first string, ser []series, cols []column) Chart {
	const labelW, barW, rowH = 230, 420, 24
	maxV := 1
	for _, c := range cols {
		maxV = max(maxV, c.total())
	}
	w := labelW + barW + 60
	top := 12 + legendLine*legendLines(ser, 10, w-10)
	h := top + rowH*max(1, len(cols)) + 8
	var b strings.Builder
	svgOpen(&b, id, title, desc, w, h)
	legend(&b, ser, 10, 6, w-10)
	for i, c := range cols {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb" text-anchor="end">%s</text>`, labelW-8, y+15, esc(trim(c.Label, 32)))
		x := float64(labelW)
		for j, v := range c.Values {
			if v == 0 {
				continue
			}
			bw := float64(v) * barW / float64(maxV)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s %d</title></rect>`,
				x, y+3, bw, rowH-8, ser[j].Color, esc(c.Label), esc(ser[j].Name), v)
			x += bw
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="val">%d</text>`, x+6, y+15, c.total())
	}
	if len(cols) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb">nothing to show</text>`, labelW, top+15)
	}
	b.WriteString(`</svg>`)
	c := newChart(id, title, desc, first, ser, cols)
	c.SVG = template.HTML(b.String()) // #nosec G203: every text above went through esc
	return c
}

// columnsChart draws vertical bars, stacked by series, one per column.
func columnsChart(id, title, desc, first string, ser []series, cols []column) Chart {
	const plotH, bottom, left = 180, 46, 40
	colW := max(14, min(64, 640/max(1, len(cols))))
	maxV := 1
	for _, c := range cols {
		maxV = max(maxV, c.total())
	}
	w := left + colW*max(1, len(cols)) + 20
	top := 16 + legendLine*max(1, legendLines(ser, left, max(w, 320)-10))
	h := top + plotH + bottom
	var b strings.Builder
	svgOpen(&b, id, title, desc, max(w, 320), h)
	legend(&b, ser, left, 6, max(w, 320)-10)
	base := top + plotH
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, base, w-10, base)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb" text-anchor="end">%d</text><text x="%d" y="%d" class="lb" text-anchor="end">0</text>`,
		left-6, top+10, maxV, left-6, base)
	every := max(1, (len(cols)+11)/12)
	for i, c := range cols {
		x := left + i*colW
		y := float64(base)
		for j, v := range c.Values {
			if v == 0 {
				continue
			}
			bh := float64(v) * plotH / float64(maxV)
			y -= bh
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s: %s %d</title></rect>`,
				x+2, y, colW-4, bh, ser[j].Color, esc(c.Label), esc(ser[j].Name), v)
		}
		if t := c.total(); t > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="val" text-anchor="middle">%d</text>`, x+colW/2, y-4, t)
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb" text-anchor="middle">%s</text>`, x+colW/2, base+16, esc(trim(c.Label, 12)))
		}
	}
	b.WriteString(`</svg>`)
	c := newChart(id, title, desc, first, ser, cols)
	c.SVG = template.HTML(b.String()) // #nosec G203: every text above went through esc
	return c
}

// calendarChart draws the next calendarDays days as a grid of weeks
// (columns) by weekday (rows), each day shaded by how many remediations
// fall due on it.
func calendarChart(days []day, beyond int) Chart {
	const cell, top, left = 16, 30, 34
	id, title := "chart-calendar", "Upcoming remediations, next 90 days"
	total, maxV := 0, 1
	for _, d := range days {
		total += d.Count
		maxV = max(maxV, d.Count)
	}
	desc := fmt.Sprintf("%d remediation(s) fall due in the next %d days (those already due count on the first day); %d later.", total, len(days), beyond)
	offset := (int(days[0].Date.Weekday()) + 6) % 7
	weeks := (offset + len(days) + 6) / 7
	var b strings.Builder
	svgOpen(&b, id, title, desc, left+weeks*cell+20, top+7*cell+30)
	for i, name := range []string{"Mon", "", "Wed", "", "Fri", "", "Sun"} {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb" text-anchor="end">%s</text>`, left-4, top+i*cell+12, name)
	}
	month := -1
	for i, d := range days {
		slot := offset + i
		x, y := left+(slot/7)*cell, top+(slot%7)*cell
		if m := int(d.Date.Month()); m != month {
			month = m
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb">%s</text>`, x, top-8, d.Date.Format("Jan"))
		}
		fill := "#ebedf0"
		if d.Count > 0 {
			fill = fmt.Sprintf("rgba(200,60,40,%.2f)", 0.3+0.7*float64(d.Count)/float64(maxV))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="2" fill="%s" data-count="%d"><title>%s: %d</title></rect>`,
			x, y, cell-3, cell-3, fill, d.Count, d.Date.Format(time.DateOnly), d.Count)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="lb">darker: more remediations due that day</text>`, left, top+7*cell+20)
	b.WriteString(`</svg>`)
	c := Chart{ID: id, Title: title, Desc: desc, SVG: template.HTML(b.String()), Head: []string{"Date", "Remediations due"}} // #nosec G203
	for _, d := range days {
		if d.Count > 0 {
			c.Rows = append(c.Rows, []string{d.Date.Format(time.DateOnly), strconv.Itoa(d.Count)})
		}
	}
	if beyond > 0 {
		c.Rows = append(c.Rows, []string{"later", strconv.Itoa(beyond)})
	}
	return c
}

// trim shortens s to n runes with an ellipsis.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
